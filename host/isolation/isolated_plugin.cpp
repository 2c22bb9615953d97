#include "isolated_plugin.h"

#include "result_log.h"

#include "frames/shared_memory_mapping.h"
#include "inferences/inference_collector.h"
#include "loading/plugin_library.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace ava::isolation {
namespace {

using loading::AnalyzerError;

struct Reply {
    ava_status status;
    std::string message;
};

// Every reply to create/open_stream/process starts with the plugin's status and message.
Reply status_of(Reader& r)
{
    // Checked before it becomes an ava_status: a plugin may return any number.
    const auto status = r.get<std::uint32_t>();
    Reply reply;
    reply.message = r.get_string();
    if (status > AVA_STATUS_OUT_OF_MEMORY) {
        reply.message = "returned an unknown status " + std::to_string(static_cast<std::int32_t>(status)) +
                        (reply.message.empty() ? "" : ": " + reply.message);
        reply.status = AVA_STATUS_INTERNAL;
    } else {
        reply.status = static_cast<ava_status>(status);
    }
    return reply;
}

void put_stream_info(Writer& w, const loading::StreamInfo& info)
{
    w.put_string(info.pipeline_name)
        .put_string(info.node_name)
        .put_string(info.route)
        .put(info.width)
        .put(info.height)
        .put(static_cast<std::int32_t>(info.pixel_format))
        .put(info.timescale)
        .put_string(info.parameters_json);
}

class IsolatedAnalyzer final : public loading::Analyzer {
public:
    IsolatedAnalyzer(std::shared_ptr<IsolatedPlugin> plugin, std::string config_json)
        : Analyzer(plugin, std::move(config_json)), owner_(*plugin)
    {
    }
    ~IsolatedAnalyzer() override;

    std::unique_ptr<loading::AnalyzerSession> open_checked(const loading::StreamInfo& info) override;
    inferences::InferenceList process_once_checked(const loading::StreamInfo& info, const frames::Frame& frame) override;

    // This instance's id in `worker`, created there first if that worker does not have it yet.
    std::uint64_t remote_in(WorkerProcess& worker);

    IsolatedPlugin& owner_;

private:
    std::mutex mutex_;
    std::uint64_t generation_ = 0; // the worker holding remote_id_
    std::uint64_t remote_id_ = 0;
};

class IsolatedSession final : public loading::AnalyzerSession {
public:
    IsolatedSession(std::shared_ptr<IsolatedAnalyzer> analyzer, loading::StreamInfo info)
        : AnalyzerSession(analyzer), owner_(*analyzer), info_(std::move(info))
    {
    }
    ~IsolatedSession() override;

    // Opens the session in `worker` unless it is open there already. Throws AnalyzerError, WorkerFailure.
    std::uint64_t remote_in(WorkerProcess& worker);
    inferences::InferenceList process(const frames::Frame& frame) override;

private:
    IsolatedAnalyzer& owner_;
    loading::StreamInfo info_;
    std::uint64_t generation_ = 0;
    std::uint64_t remote_id_ = 0;
    const frames::SharedMemoryMapping* mapped_ = nullptr; // the shared memory the worker has for this session
};

std::uint64_t IsolatedAnalyzer::remote_in(WorkerProcess& worker)
{
    std::lock_guard lock(mutex_);
    if (generation_ == worker.generation()) {
        return remote_id_;
    }
    Writer w;
    w.put_string(config_json());
    const auto message = worker.call(MessageKind::create, w.bytes(), owner_.load_timeout(),
                                     owner_.deadline_text("create()", owner_.load_timeout()));
    Reader r(message.payload);
    const auto reply = status_of(r);
    if (reply.status != AVA_STATUS_OK) {
        throw AnalyzerError(reply.status, name() + ": create failed: " + reply.message);
    }
    remote_id_ = r.get<std::uint64_t>();
    generation_ = worker.generation();
    return remote_id_;
}

IsolatedAnalyzer::~IsolatedAnalyzer()
{
    try {
        const auto worker = owner_.running_worker();
        if (worker && worker->generation() == generation_) {
            Writer w;
            w.put(remote_id_);
            worker->call(MessageKind::destroy, w.bytes(), owner_.analysis_timeout(),
                         owner_.deadline_text("destroy()", owner_.analysis_timeout()));
        }
    } catch (const std::exception& e) {
        spdlog::debug("{}: destroy in the worker: {}", name(), e.what()); // the worker is gone: so is the instance
    }
}

std::unique_ptr<loading::AnalyzerSession> IsolatedAnalyzer::open_checked(const loading::StreamInfo& info)
{
    auto session = std::make_unique<IsolatedSession>(std::static_pointer_cast<IsolatedAnalyzer>(shared_from_this()), info);
    const auto serial = serial_lock();
    const auto worker = owner_.worker();
    try {
        session->remote_in(*worker);
    } catch (const WorkerFailure& e) {
        throw owner_.failure(e);
    }
    return session;
}

std::uint64_t IsolatedSession::remote_in(WorkerProcess& worker)
{
    if (generation_ == worker.generation()) {
        return remote_id_;
    }
    const auto instance = owner_.remote_in(worker);
    if (generation_ != 0) {
        spdlog::warn("{}: stream '{}' reopened in a new worker process: its per-stream state was lost", owner_.name(),
                     info_.pipeline_name.empty() ? info_.route : info_.pipeline_name);
    }
    Writer w;
    w.put(instance);
    put_stream_info(w, info_);
    const auto message = worker.call(MessageKind::open_stream, w.bytes(), owner_.owner_.analysis_timeout(),
                                     owner_.owner_.deadline_text("open_stream()", owner_.owner_.analysis_timeout()));
    Reader r(message.payload);
    const auto reply = status_of(r);
    if (reply.status != AVA_STATUS_OK) {
        throw AnalyzerError(reply.status, owner_.name() + ": " + reply.message);
    }
    remote_id_ = r.get<std::uint64_t>();
    generation_ = worker.generation();
    mapped_ = nullptr;
    return remote_id_;
}

IsolatedSession::~IsolatedSession()
{
    try {
        const auto serial = owner_.serial_lock();
        const auto worker = owner_.owner_.running_worker();
        if (worker && worker->generation() == generation_) {
            Writer w;
            w.put(remote_id_);
            worker->call(MessageKind::close_stream, w.bytes(), owner_.owner_.analysis_timeout(),
                         owner_.owner_.deadline_text("close_stream()", owner_.owner_.analysis_timeout()));
        }
    } catch (const std::exception& e) {
        spdlog::debug("{}: close_stream in the worker: {}", owner_.name(), e.what());
    }
}

// Where a frame's pixels are for the worker: the frame's description plus either a place in the sender's
// shared memory (read in place) or a block of the worker's arena the pixels were copied into. The block is
// held until the reply: the worker reads it meanwhile.
struct PlacedFrame {
    std::optional<FrameArena::Block> block;
    const frames::SharedMemoryMapping* in_place = nullptr;
};

PlacedFrame place(const frames::Frame& frame, WorkerProcess& worker, const std::string& analyzer, Writer& w)
{
    const auto& image = frame.image;
    const std::size_t bytes = image.step[0] * static_cast<std::size_t>(image.rows);
    w.put(static_cast<std::uint32_t>(image.cols))
        .put(static_cast<std::uint32_t>(image.rows))
        .put(static_cast<std::uint32_t>(image.step[0]))
        .put(static_cast<std::int32_t>(frame.format))
        .put(frame.timestamp);
    PlacedFrame placed;
    const auto* mapping = frame.shared_memory;
    const auto* base = mapping != nullptr ? static_cast<const std::uint8_t*>(mapping->address()) : nullptr;
    if (base != nullptr && image.data >= base && image.data + bytes <= base + mapping->size()) {
        w.put(std::uint8_t{1}).put(static_cast<std::uint64_t>(image.data - base)).put(mapping->size());
        placed.in_place = mapping;
        return placed;
    }
    placed.block = worker.arena().allocate(bytes);
    if (!placed.block) {
        throw frames::FrameBudgetExceeded(analyzer + ": no room for the frame in its worker's frame arena");
    }
    if (image.isContinuous()) {
        std::memcpy(placed.block->data(), image.data, bytes);
    } else {
        for (int row = 0; row < image.rows; ++row) {
            std::memcpy(placed.block->data() + row * image.step[0], image.ptr(row), image.step[0]);
        }
    }
    w.put(std::uint8_t{0}).put(static_cast<std::uint64_t>(placed.block->offset())).put(std::uint64_t{0});
    return placed;
}

// A process reply as the frame's answer, through the host's own collector.
inferences::InferenceList answer_from(const Message& message, const frames::Frame& frame, const std::string& analyzer)
{
    inferences::InferenceCollector collector(analyzer);
    try {
        Reader r(message.payload);
        const auto reply = status_of(r);
        const auto log = r.get_string();
        const auto rejection = r.get_string();
        const auto too_large = r.get_string();
        if (r.get<std::uint8_t>() != 0 && frame.shared_memory != nullptr) {
            frame.shared_memory->note_broken(); // the worker read zeros: the stream ends as if we had
        }
        if (const auto late = r.get<std::uint32_t>(); late != 0) {
            spdlog::warn("{}: {} result call(s) came after process() returned and were ignored", analyzer, late);
        }
        if (!too_large.empty()) {
            throw inferences::AnswerTooLarge(analyzer + ": answer too large, refused: " + std::string(too_large));
        }
        replay(log, collector.sink());
        return loading::answer_of(analyzer, reply.status, reply.message, collector, rejection);
    } catch (const WireError& e) {
        throw AnalyzerError(AVA_STATUS_INTERNAL, analyzer + ": its worker sent a malformed answer: " + e.what());
    }
}

inferences::InferenceList IsolatedSession::process(const frames::Frame& frame)
{
    auto& plugin = owner_.owner_;
    const auto serial = owner_.serial_lock();
    const auto exclusive = session_lock();
    const auto worker = plugin.worker();
    Message message;
    try {
        Writer w;
        w.put(remote_in(*worker));
        const auto placed = place(frame, *worker, owner_.name(), w);
        // The sender's file travels once per session; the worker keeps it mapped.
        const int fd = placed.in_place != nullptr && mapped_ != placed.in_place ? placed.in_place->fd() : -1;
        message = worker->call(MessageKind::process, w.bytes(), plugin.analysis_timeout(),
                               plugin.deadline_text("process()", plugin.analysis_timeout()), fd);
        if (fd >= 0) {
            mapped_ = placed.in_place;
        }
    } catch (const WorkerFailure& e) {
        throw plugin.failure(e);
    }
    return answer_from(message, frame, owner_.name());
}

inferences::InferenceList IsolatedAnalyzer::process_once_checked(const loading::StreamInfo& info,
                                                                 const frames::Frame& frame)
{
    // open_stream, process and close_stream in one round trip: what a one-frame HTTP request costs.
    const auto serial = serial_lock();
    const auto worker = owner_.worker();
    Message message;
    try {
        Writer w;
        w.put(remote_in(*worker));
        put_stream_info(w, info);
        const auto placed = place(frame, *worker, name(), w);
        message = worker->call(MessageKind::process_once, w.bytes(), owner_.analysis_timeout(),
                               owner_.deadline_text("open_stream()/process()/close_stream()", owner_.analysis_timeout()),
                               placed.in_place != nullptr ? placed.in_place->fd() : -1);
    } catch (const WorkerFailure& e) {
        throw owner_.failure(e);
    }
    return answer_from(message, frame, name());
}

// A schema an isolated plugin declared: the worker checked it, but what a worker says is hostile input.
std::shared_ptr<const loading::ParameterSchema> schema_of(const std::filesystem::path& file, const char* field,
                                                          const std::optional<std::string>& text)
{
    return text ? loading::declared_schema(file.string(), field, std::string_view(*text)) : nullptr;
}

} // namespace

std::shared_ptr<IsolatedPlugin> IsolatedPlugin::load(const std::filesystem::path& file,
                                                     const loading::IsolationSettings& settings,
                                                     const std::filesystem::path& shadow_dir)
{
    auto version = std::make_unique<VersionCopy>(file, shadow_dir);
    WorkerOptions options;
    options.executable = settings.worker_executable;
    options.plugin = version->path();
    options.shown_as = file;
    options.shadow_dir = shadow_dir;
    options.label = file.filename().string();
    options.threads = settings.worker_threads;
    options.arena_bytes = settings.arena_bytes;
    options.load_timeout = settings.load_timeout;
    // The memory limit is per analyzer name, which only the plugin knows: the first worker loads under the
    // default limit, later ones under the analyzer's own.
    options.memory_bytes = settings.memory_bytes;
    std::shared_ptr<WorkerProcess> first;
    try {
        first = WorkerProcess::start(options, 1);
    } catch (const WorkerLoadRefused& e) {
        throw loading::PluginLoadError(e.what());
    } catch (const std::exception& e) {
        throw loading::PluginLoadError(file.string() + ": refused: loading it in a worker process failed: " + e.what());
    }
    const auto& hello = first->hello();
    options.memory_bytes = settings.memory_for(hello.name);
    loading::PluginInfo info{hello.name,
                             hello.version,
                             hello.description,
                             std::to_string(hello.abi_major) + "." + std::to_string(hello.abi_minor),
                             hello.concurrency,
                             file,
                             hello.loaded_path,
                             std::chrono::system_clock::now(),
                             schema_of(file, "configuration_schema", hello.configuration_schema),
                             schema_of(file, "parameters_schema", hello.parameters_schema),
                             loading::declared_input(file.string(), hello.input_pixel_formats, hello.input_min_width,
                                                     hello.input_min_height, hello.input_flags)};
    return std::make_shared<IsolatedPlugin>(std::move(info), std::move(options), settings.analysis_timeout,
                                            std::move(version), std::move(first));
}

IsolatedPlugin::IsolatedPlugin(loading::PluginInfo info, WorkerOptions options,
                               std::chrono::milliseconds analysis_timeout, std::unique_ptr<VersionCopy> version,
                               std::shared_ptr<WorkerProcess> first)
    : LoadedPlugin(std::move(info)), options_(std::move(options)), analysis_timeout_(analysis_timeout),
      version_(std::move(version)), loaded_(first->hello()), current_(std::move(first))
{
}

std::shared_ptr<loading::Analyzer> IsolatedPlugin::create_analyzer(std::string config_json)
{
    auto analyzer = std::make_shared<IsolatedAnalyzer>(shared_from_this(), std::move(config_json));
    const auto running = worker();
    try {
        analyzer->remote_in(*running);
    } catch (const WorkerFailure& e) {
        throw failure(e);
    }
    return analyzer;
}

std::string IsolatedPlugin::deadline_text(const char* call, std::chrono::milliseconds timeout) const
{
    return "analyzer '" + name() + "' exceeded its " + std::to_string(timeout.count()) + " ms deadline in " + call;
}

loading::AnalyzerError IsolatedPlugin::failure(const WorkerFailure& e) const
{
    const std::string what = e.what();
    return AnalyzerError(AVA_STATUS_INTERNAL,
                         e.deadline() ? what + " (its worker process was killed and restarts)"
                                      : "analyzer '" + name() + "': " + what + " (it restarts)");
}

void IsolatedPlugin::note_end(const WorkerProcess& ended)
{
    if (current_end_noted_) {
        return;
    }
    current_end_noted_ = true;
    last_failure_ = ended.end_reason();
    const auto now = ended.end_time();
    crashes_.push_back(now);
    while (!crashes_.empty() && now - crashes_.front() > crash_window) {
        crashes_.pop_front();
    }
    if (crashes_.size() >= max_crashes) {
        failed_ = true;
        spdlog::error("analyzer '{}' failed {} times within {} s (last: {}): marked failed; it is tried again when "
                      "its file changes or on POST /admin/reload",
                      name(), crashes_.size(), crash_window.count(), last_failure_);
        return;
    }
    // The first failure restarts at once; repeated ones wait 100 ms, 200 ms, ... up to 5 s.
    const auto repeats = crashes_.size() - 1;
    const auto delay = repeats == 0 ? std::chrono::milliseconds(0)
                                    : std::min<std::chrono::milliseconds>(
                                                    std::chrono::milliseconds(100 << std::min<std::size_t>(repeats - 1, 6)),
                                                    std::chrono::seconds(5));
    next_start_ = now + delay;
}

std::shared_ptr<WorkerProcess> IsolatedPlugin::worker()
{
    {
        std::lock_guard lock(mutex_);
        if (current_ && current_->alive()) {
            return current_;
        }
    }
    // One start at a time, and without mutex_: loading may take up to the load deadline, and /analyzers,
    // readiness and clean-up calls must not wait for it.
    std::lock_guard starting(start_mutex_);
    std::unique_lock lock(mutex_);
    if (current_ && current_->alive()) {
        return current_; // another caller started it meanwhile
    }
    if (current_) {
        note_end(*current_);
    }
    if (failed_) {
        throw loading::AnalyzerUnavailable("analyzer '" + name() + "' is marked failed after " +
                                           std::to_string(max_crashes) + " failures within " +
                                           std::to_string(crash_window.count()) + " s (last: " + last_failure_ +
                                           "); replace its file or POST /admin/reload to try again");
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < next_start_) {
        throw loading::AnalyzerUnavailable(
            "analyzer '" + name() + "' is restarting (" + last_failure_ + "); retry in " +
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(next_start_ - now).count()) + " ms");
    }
    const auto generation = ++generation_;
    lock.unlock();
    try {
        auto next = std::shared_ptr<WorkerProcess>(WorkerProcess::start(options_, generation));
        if (!next->hello().same_plugin(loaded_)) {
            // It loads this version's own copy, so only a worker lying in its hello gets here: the host must
            // not serve this version's promises (concurrency, schemas, input) with another plugin's code.
            throw std::runtime_error("the restarted worker reports another plugin ('" + next->hello().name + "' " +
                                     next->hello().version + ") than this version's");
        }
        lock.lock();
        ++restarts_;
        spdlog::info("analyzer '{}': worker process {} started (pid {}, restart {})", name(), generation, next->pid(),
                     restarts_);
        current_ = std::move(next);
        current_end_noted_ = false;
        return current_;
    } catch (const std::exception& e) {
        if (!lock.owns_lock()) {
            lock.lock();
        }
        // Counted like a crash: a plugin that no longer loads must not be retried in a tight loop.
        last_failure_ = std::string("restarting its worker failed: ") + e.what();
        crashes_.push_back(now);
        failed_ = crashes_.size() >= max_crashes;
        next_start_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        throw loading::AnalyzerUnavailable("analyzer '" + name() + "': " + last_failure_);
    }
}

std::shared_ptr<WorkerProcess> IsolatedPlugin::running_worker() const
{
    std::lock_guard lock(mutex_);
    return current_ && current_->alive() ? current_ : nullptr;
}

loading::PluginHealth IsolatedPlugin::health() const
{
    std::lock_guard lock(mutex_);
    loading::PluginHealth health;
    health.restarts = restarts_;
    health.last_failure = last_failure_;
    const bool running = current_ && current_->alive();
    health.pid = running ? current_->pid() : 0;
    if (!running && current_ && !current_end_noted_) {
        health.last_failure = current_->end_reason();
    }
    health.state = failed_ ? loading::PluginHealth::State::failed
                   : running ? loading::PluginHealth::State::running
                             : loading::PluginHealth::State::restarting;
    return health;
}

void IsolatedPlugin::reset_failures()
{
    std::lock_guard lock(mutex_);
    if (failed_) {
        spdlog::info("analyzer '{}': failed state cleared by a reload; its next call starts a worker", name());
    }
    failed_ = false;
    crashes_.clear();
    next_start_ = {};
}

} // namespace ava::isolation
