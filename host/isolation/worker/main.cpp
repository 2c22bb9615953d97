// ava-analyzer-worker: runs one analyzer plugin on behalf of ava-extension-host (docs/isolation.md).
// Started by the host with its control socket on descriptor 3, the frame arena (a memfd, mapped read-only
// here) on 4 and one socket per channel from 5 on. It loads the plugin with the host's own loader, says
// hello on the control socket, then serves each channel on a thread of its own: read a request, call the
// plugin, answer. It exits when the host closes the control socket (and dies with the host:
// PR_SET_PDEATHSIG), so it holds no state anyone else needs.

#include "frames/sigbus_guard.h"
#include "isolation/result_log.h"
#include "isolation/wire.h"
#include "loading/plugin_calls.h"
#include "loading/plugin_library.h"
#include "inferences/inference_collector.h"

#include <spdlog/spdlog.h>

#include <sys/mman.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace ava::isolation;
using ava::loading::PluginLibrary;

constexpr int control_fd = 3;
constexpr int arena_fd = 4;
constexpr int first_channel_fd = 5;

// A read-only mapping, unmapped on destruction. A sender's file is guarded like the host guards it
// (frames/sigbus_guard.h): if the sender shrinks it, reads see zeros and broken() says so.
class Mapping {
public:
    Mapping(int fd, std::size_t size, bool guarded)
        : size_(size), data_(::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0))
    {
        if (data_ == MAP_FAILED) {
            throw std::runtime_error(std::string("mmap: ") + std::strerror(errno));
        }
        if (guarded) {
            guard_ = ava::frames::GuardedRange(data_, size_);
        }
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping()
    {
        guard_.reset();
        ::munmap(data_, size_);
    }
    const std::uint8_t* data() const noexcept { return static_cast<const std::uint8_t*>(data_); }
    std::size_t size() const noexcept { return size_; }
    bool broken() const noexcept { return guard_.broken(); }

private:
    std::size_t size_;
    void* data_;
    ava::frames::GuardedRange guard_;
};

struct Session {
    void* handle = nullptr;
    std::uint64_t instance = 0;
    std::shared_ptr<Mapping> shared_memory; // the sender's file, when its frames are read in place
};

struct Instance {
    void* handle = nullptr;
    std::string config_json; // what its sessions' parameters are layered over
};

using ava::loading::message_of;

class Worker {
public:
    Worker(std::shared_ptr<PluginLibrary> library, std::size_t arena_bytes)
        : library_(std::move(library)), d_(library_->descriptor()), arena_(arena_fd, arena_bytes, false)
    {
    }

    // One channel: one call at a time, answered on the same socket. Returns when the host closes it.
    void serve(int channel)
    {
        try {
            Message request;
            while (receive_message(channel, request)) {
                const auto reply = handle(request);
                send_message(channel, MessageHeader{0, request.header.kind, 0}, reply.bytes());
                request = Message{};
            }
        } catch (const WireError& e) {
            spdlog::error("analyzer worker channel {}: {}", channel, e.what());
        }
    }

private:
    Writer handle(Message& request)
    {
        Writer out;
        try {
            Reader in(request.payload);
            switch (request.header.kind) {
            case MessageKind::create: create(in, out); break;
            case MessageKind::destroy: destroy(in); break;
            case MessageKind::open_stream: open_stream(in, out); break;
            case MessageKind::close_stream: close_stream(in); break;
            case MessageKind::process: process(in, request.fd, out); break;
            case MessageKind::process_once: process_once(in, request.fd, out); break;
            default: out = failure("unknown request"); break;
            }
        } catch (const std::exception& e) {
            out = failure(e.what());
        }
        return out;
    }

    static Writer failure(std::string_view why)
    {
        Writer w;
        w.put(static_cast<std::uint32_t>(AVA_STATUS_INTERNAL)).put_string(std::string("worker: ") + std::string(why));
        return w;
    }

    void create(Reader& in, Writer& out)
    {
        std::string config(in.get_string());
        const auto created = ava::loading::call_create(d_, config);
        out.put(static_cast<std::uint32_t>(created.status)).put_string(created.message);
        std::lock_guard lock(mutex_);
        const auto id = next_id_++;
        if (created.handle != nullptr) {
            instances_[id] = Instance{created.handle, std::move(config)};
        }
        out.put(id);
    }

    void destroy(Reader& in)
    {
        void* instance = nullptr;
        {
            std::lock_guard lock(mutex_);
            const auto it = instances_.find(in.get<std::uint64_t>());
            if (it == instances_.end()) {
                return;
            }
            instance = it->second.handle;
            instances_.erase(it);
        }
        d_.destroy(instance);
    }

    struct Opened {
        int status = AVA_STATUS_OK;
        std::string message;
        void* handle = nullptr;
        std::uint64_t instance = 0;
    };

    // Reads an instance id and stream info, and calls open_stream.
    Opened open(Reader& in)
    {
        Opened opened;
        opened.instance = in.get<std::uint64_t>();
        ava::loading::StreamInfo info;
        info.pipeline_name = in.get_string();
        info.node_name = in.get_string();
        info.route = in.get_string();
        info.width = in.get<std::uint32_t>();
        info.height = in.get<std::uint32_t>();
        info.pixel_format = static_cast<ava_pixel_format>(in.get<std::int32_t>());
        info.timescale = in.get<std::uint32_t>();
        info.parameters_json = in.get_string();
        Instance instance;
        {
            std::lock_guard lock(mutex_);
            const auto it = instances_.find(opened.instance);
            if (it == instances_.end()) {
                throw std::runtime_error("open_stream on an unknown instance");
            }
            instance = it->second; // a copy: destroy() may erase it meanwhile (the host does not, while open)
        }
        const auto call = ava::loading::call_open_stream(d_, instance.handle, instance.config_json, info);
        opened.status = call.status;
        opened.message = call.message;
        opened.handle = call.handle;
        return opened;
    }

    void open_stream(Reader& in, Writer& out)
    {
        const auto opened = open(in);
        out.put(static_cast<std::uint32_t>(opened.status)).put_string(opened.message);
        std::lock_guard lock(mutex_);
        const auto id = next_id_++;
        if (opened.handle != nullptr) {
            sessions_[id] = Session{opened.handle, opened.instance, nullptr};
        }
        out.put(id);
    }

    void close_stream(Reader& in)
    {
        void* handle = nullptr;
        {
            std::lock_guard lock(mutex_);
            const auto it = sessions_.find(in.get<std::uint64_t>());
            if (it == sessions_.end()) {
                return;
            }
            handle = it->second.handle;
            sessions_.erase(it);
        }
        d_.close_stream(handle);
    }

    // A frame as the host placed it: in the arena, or in place in the sender's shared memory.
    struct FrameRef {
        ava_frame frame{};
        bool in_place = false;
        std::uint64_t offset = 0;
        std::uint64_t region_size = 0;
    };

    static FrameRef frame_of(Reader& in)
    {
        FrameRef ref;
        ref.frame.struct_size = sizeof ref.frame;
        ref.frame.width = in.get<std::uint32_t>();
        ref.frame.height = in.get<std::uint32_t>();
        ref.frame.stride_bytes = in.get<std::uint32_t>();
        ref.frame.pixel_format = static_cast<ava_pixel_format>(in.get<std::int32_t>());
        ref.frame.timestamp = in.get<std::uint64_t>();
        ref.in_place = in.get<std::uint8_t>() != 0;
        ref.offset = in.get<std::uint64_t>();
        ref.region_size = in.get<std::uint64_t>();
        return ref;
    }

    void process(Reader& in, ava::runtime::UniqueFd& fd, Writer& out)
    {
        const auto id = in.get<std::uint64_t>();
        auto ref = frame_of(in);
        void* handle = nullptr;
        std::shared_ptr<Mapping> region;
        {
            std::lock_guard lock(mutex_);
            const auto it = sessions_.find(id);
            if (it == sessions_.end()) {
                throw std::runtime_error("process on an unknown session");
            }
            if (ref.in_place && fd.valid()) {
                it->second.shared_memory = std::make_shared<Mapping>(fd.get(), ref.region_size, true);
            }
            handle = it->second.handle;
            region = it->second.shared_memory;
        }
        run(handle, ref, region.get(), out);
    }

    // open_stream, process, close_stream: a one-frame session in one request.
    void process_once(Reader& in, ava::runtime::UniqueFd& fd, Writer& out)
    {
        const auto opened = open(in);
        if (opened.handle == nullptr) {
            out.put(static_cast<std::uint32_t>(opened.status))
                .put_string(opened.message)
                .put_string("")
                .put_string("")
                .put_string("")
                .put(std::uint8_t{0})
                .put(std::uint32_t{0});
            return;
        }
        struct Close {
            const ava_plugin_descriptor& d;
            void* handle;
            ~Close() { d.close_stream(handle); }
        } close{d_, opened.handle};
        auto ref = frame_of(in);
        std::unique_ptr<Mapping> region;
        if (ref.in_place && fd.valid()) {
            region = std::make_unique<Mapping>(fd.get(), ref.region_size, true);
        }
        run(opened.handle, ref, region.get(), out);
    }

    void run(void* handle, FrameRef& ref, const Mapping* region, Writer& out)
    {
        const std::uint8_t* base = arena_.data();
        std::size_t size = arena_.size();
        if (ref.in_place) {
            if (region == nullptr) {
                throw std::runtime_error("frame in shared memory the worker was not given");
            }
            base = region->data();
            size = region->size();
        }
        const auto bytes = std::uint64_t{ref.frame.stride_bytes} * ref.frame.height;
        if (ref.offset > size || bytes > size - ref.offset) {
            throw std::runtime_error("frame lies outside its memory");
        }
        ref.frame.data = base + ref.offset;
        auto sink = std::make_unique<RecordingSink>(library_->name());
        ava_error error{};
        // Held as int: a plugin may return any number, and a non-enumerator in an ava_status is undefined.
        const int status = d_.process(handle, &ref.frame, &sink->sink(), &error);
        const auto log = sink->close();
        out.put(static_cast<std::uint32_t>(status))
            .put_string(status == AVA_STATUS_OK ? "" : message_of(error, "process failed"))
            .put_string(log)
            .put_string(sink->last_rejection())
            .put_string(sink->too_large())
            .put(static_cast<std::uint8_t>(ref.in_place && region->broken()));
        out.put(static_cast<std::uint32_t>(retire(std::move(sink))));
    }

    // A plugin that emits from its own thread after process() returned would write through a dangling
    // sink: closed sinks are kept a while, so such a call is refused and counted instead. Returns the late
    // calls counted since the last frame.
    std::size_t retire(std::unique_ptr<RecordingSink> sink)
    {
        std::lock_guard lock(mutex_);
        std::size_t late = 0;
        for (const auto& old : retired_) {
            late += old->take_late_calls();
        }
        retired_.push_back(std::move(sink));
        if (retired_.size() > 64) {
            retired_.pop_front();
        }
        return late;
    }

    std::shared_ptr<PluginLibrary> library_;
    const ava_plugin_descriptor& d_;
    Mapping arena_;
    std::mutex mutex_;
    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, Instance> instances_;
    std::map<std::uint64_t, Session> sessions_;
    std::deque<std::unique_ptr<RecordingSink>> retired_;
};

void send_hello(const PluginLibrary* library, const std::string& refusal)
{
    Writer w;
    w.put(static_cast<std::uint8_t>(library != nullptr));
    if (library == nullptr) {
        w.put_string(refusal);
    } else {
        const auto& d = library->descriptor();
        w.put_string(library->name())
            .put_string(library->version())
            .put_string(library->description())
            .put_string(library->loaded_path().string())
            .put(d.abi_major)
            .put(d.abi_minor)
            .put(static_cast<std::int32_t>(d.concurrency));
        for (const auto* schema : {library->configuration_schema().get(), library->parameters_schema().get()}) {
            w.put_optional(schema != nullptr ? schema->text().c_str() : nullptr);
        }
        const auto& input = library->input(); // as checked by the loader: unknown bits dropped
        w.put(input.pixel_formats)
            .put(input.min_width)
            .put(input.min_height)
            .put(input.exact_size ? AVA_INPUT_EXACT_SIZE : 0U);
    }
    send_message(control_fd, MessageHeader{0, MessageKind::hello, 0}, w.bytes());
}

} // namespace

int main(int argc, char** argv)
{
    std::map<std::string, std::string> args;
    for (int i = 1; i + 1 < argc; i += 2) {
        args[argv[i]] = argv[i + 1];
    }
    // Stopping is the host's call (it closes the socket, or kills): a SIGTERM or SIGINT meant for the whole
    // group (systemd's stop, Ctrl-C in a terminal) must not end frames the host is still draining.
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGHUP, SIG_IGN);
    spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] [worker " + std::to_string(::getpid()) + "] %v");
    std::shared_ptr<PluginLibrary> library;
    try {
        library = PluginLibrary::load(args["--plugin"], args["--shadow-dir"], args["--shown-as"], args["--copy-as"]);
    } catch (const std::exception& e) {
        send_hello(nullptr, e.what());
        return 0;
    }
    try {
        Worker worker(library, static_cast<std::size_t>(std::stoull(args["--arena-bytes"])));
        std::vector<std::jthread> channels;
        const int count = std::stoi(args["--channels"]);
        for (int i = 0; i < count; ++i) {
            channels.emplace_back([&worker, i] { worker.serve(first_channel_fd + i); });
        }
        send_hello(library.get(), "");
        Message ignored;
        while (receive_message(control_fd, ignored)) {
        }
        std::fflush(nullptr);
        ::_exit(0);
    } catch (const std::exception& e) {
        spdlog::error("analyzer worker for {}: {}", args["--shown-as"], e.what());
    }
    // Still inside the scope of the channel threads, never joined: the host hung up (or went away), so
    // leave at once, without the plugin's destructors, even with a channel stuck in a plugin call.
    std::fflush(nullptr);
    ::_exit(0);
}
