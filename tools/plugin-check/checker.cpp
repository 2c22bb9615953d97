#include "checker.h"

#include "elf_exports.h"
#include "frame_call.h"
#include "inference_schema.h"
#include "test_frames.h"

#include "frames/frame.h"
#include "inferences/json_writer.h"
#include "inferences/utf8.h"
#include "loading/parameter_values.h"
#include "loading/plugin_library.h"

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <latch>
#include <cstring>
#include <map>
#include <optional>
#include <regex>
#include <thread>

namespace ava::plugin_check {
namespace {

using Clock = std::chrono::steady_clock;

// A private folder for the loader's shadow copy, removed with the object.
class ShadowDir {
public:
    ShadowDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "ava-plugin-check.XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("cannot create a temporary folder in " +
                                     std::filesystem::temp_directory_path().string());
        }
        path_ = pattern;
    }
    ShadowDir(const ShadowDir&) = delete;
    ShadowDir& operator=(const ShadowDir&) = delete;
    ~ShadowDir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

// Statuses are held as int: a plugin may return any number, and holding one that is no enumerator in an
// ava_status variable is undefined behaviour (UBSan's enum check stops the checker on it).
bool valid_status(int status) { return status >= AVA_STATUS_OK && status <= AVA_STATUS_OUT_OF_MEMORY; }

std::string status_name(int status)
{
    switch (status) {
    case AVA_STATUS_OK: return "OK";
    case AVA_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case AVA_STATUS_UNSUPPORTED: return "UNSUPPORTED";
    case AVA_STATUS_INTERNAL: return "INTERNAL";
    case AVA_STATUS_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    default: return std::to_string(status);
    }
}

std::string concurrency_name(ava_concurrency concurrency)
{
    switch (concurrency) {
    case AVA_CONCURRENCY_SERIAL: return "serial";
    case AVA_CONCURRENCY_PER_SESSION: return "per-session";
    case AVA_CONCURRENCY_FULL: return "full";
    default: return std::to_string(static_cast<int>(concurrency));
    }
}

std::string clip(const std::string& text, std::size_t max = 300)
{
    return text.size() <= max ? text : text.substr(0, max) + "...";
}

// Where two answers part: "got ...X..., expected ...Y..." around the first differing byte.
std::string difference(const std::string& got, const std::string& expected)
{
    if (got.empty() || expected.empty()) {
        return "got " + (got.empty() ? std::string("nothing") : clip(got, 120)) + ", expected " +
               (expected.empty() ? std::string("nothing") : clip(expected, 120));
    }
    const auto at = static_cast<std::size_t>(
        std::mismatch(got.begin(), got.end(), expected.begin(), expected.end()).first - got.begin());
    const auto excerpt = [&](const std::string& s) {
        const auto from = at > 40 ? at - 40 : 0;
        return (from > 0 ? "..." : "") + s.substr(from, 80) + (from + 80 < s.size() ? "..." : "");
    };
    return "got " + excerpt(got) + ", expected " + excerpt(expected);
}

// Heap bytes in use (every arena, plus blocks served by mmap): what a leak in the plugin makes grow.
long long heap_in_use()
{
    const auto info = mallinfo2();
    return static_cast<long long>(info.uordblks + info.hblkhd);
}

// One run of the checks: the loaded plugin, its instance and everything the frames need.
class Run {
public:
    Run(const CheckOptions& options, CheckResult& result, const loading::PluginLibrary& library)
        : options_(options), result_(result), report_(result.report), d_(library.descriptor()), name_(d_.name),
          library_(library)
    {
        schema_json_.Parse(inference_schema_json);
        schema_.emplace(schema_json_);
    }

    void all()
    {
        // As the host would: a configuration or parameters the plugin's schema refuses never reach it.
        if (!satisfies(library_.configuration_schema().get(), options_.config_json, "--config") ||
            !satisfies(library_.parameters_schema().get(), options_.params_json, "--params") || !create()) {
            return;
        }
        pictures_ = built_in_pictures();
        for (const auto& image : options_.images) {
            try {
                pictures_.push_back(load_picture(image));
            } catch (const std::exception& e) {
                report_.fail("image", e.what());
            }
        }
        for (const auto format : all_pixel_formats()) {
            stream_in(format);
        }
        if (result_.formats_supported.empty()) {
            report_.fail("formats", "open_stream() accepted none of the pixel formats (" +
                                        std::to_string(all_pixel_formats().size()) + " tried)");
        } else {
            concurrency();
            memory_and_timing();
        }
        d_.destroy(instance_);
        // A plugin thread that still holds a sink emits now, if ever: give it a moment to be caught.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        result_.frames = frames_;
        result_.inferences = inferences_;
    }

private:
    struct Outcome {
        bool ok = false;
        std::string json; // the answer as the host would send it ("" when nothing was found)
        double ms = 0;
    };

    bool satisfies(const loading::ParameterSchema* schema, const std::string& json, const char* option)
    {
        const auto violation = schema != nullptr ? schema->violation(json) : std::string();
        if (!violation.empty()) {
            report_.fail("parameters", std::string(option) + " " + clip(json) + ": " + violation);
        }
        return violation.empty();
    }

    // Whether the plugin reads ABI 1.1's typed getters (and so gets them, as from the host).
    bool knows_parameters() const { return AVA_HAS_FIELD(&d_, ava_plugin_descriptor, create_with_parameters); }

    bool create()
    {
        ava_error error{};
        void* instance = nullptr;
        const loading::ParameterValues config(options_.config_json);
        const int status = knows_parameters() && d_.create_with_parameters != nullptr
                               ? d_.create_with_parameters(options_.config_json.c_str(), config.abi(), &instance, &error)
                               : d_.create(options_.config_json.c_str(), &instance, &error);
        if (!checked_status(status, error, "create()", "create")) {
            return false;
        }
        if (status != AVA_STATUS_OK) {
            report_.fail("create", "create() with configuration " + clip(options_.config_json) + " failed with " +
                                       status_name(status) + ": " + message_of(error));
            return false;
        }
        if (instance == nullptr) {
            report_.fail("create", "create() returned OK but no instance");
            return false;
        }
        instance_ = instance;
        return true;
    }

    // Checks a returned status and its error message; false when the status is not an ava_status.
    bool checked_status(int status, const ava_error& error, const std::string& call, const char* check)
    {
        if (!valid_status(status)) {
            report_.fail("status", call + " returned " + std::to_string(status) +
                                       ", which is not an ava_status (0..4)");
            return false;
        }
        if (status != AVA_STATUS_OK) {
            if (std::memchr(error.message, '\0', sizeof error.message) == nullptr) {
                report_.fail(check, call + ": the error message is not NUL-terminated within its " +
                                        std::to_string(sizeof error.message) + " bytes");
            } else if (!inferences::is_valid_utf8(error.message)) {
                report_.fail("utf8", call + ": the error message is not valid UTF-8");
            }
        }
        return true;
    }

    static std::string message_of(const ava_error& error)
    {
        const std::string message(error.message, strnlen(error.message, sizeof error.message));
        return message.empty() ? "(no message)" : message;
    }

    void* open(ava_pixel_format format, const std::string& what)
    {
        ava_stream_info info{};
        info.struct_size = sizeof info;
        info.pipeline_name = "ava-plugin-check";
        info.node_name = "check";
        const std::string route = "/" + name_;
        info.route = route.c_str();
        info.pixel_format = format;
        info.timescale = 1000;
        info.parameters_json = options_.params_json.c_str();
        const loading::ParameterValues parameters(options_.config_json, options_.params_json);
        if (knows_parameters()) {
            info.parameters = parameters.abi();
        }
        ava_error error{};
        void* session = nullptr;
        const int status = d_.open_stream(instance_, &info, &session, &error);
        if (!checked_status(status, error, what + ": open_stream()", "open_stream")) {
            return nullptr;
        }
        if (status == AVA_STATUS_UNSUPPORTED) {
            return nullptr;
        }
        if (status != AVA_STATUS_OK) {
            report_.fail("open_stream", what + ": open_stream() with parameters " + clip(options_.params_json) +
                                            " failed with " + status_name(status) + ": " + message_of(error));
            return nullptr;
        }
        if (session == nullptr) {
            report_.fail("open_stream", what + ": open_stream() returned OK but no session");
        }
        return session;
    }

    // `prepared`: a call made beforehand (the timed frames, so the checker's own bookkeeping does not count
    // as the plugin's heap growth); otherwise one is made now.
    Outcome process(void* session, const cv::Mat& pixels, ava_pixel_format format, const std::string& label,
                    bool edge_case, FrameCall* prepared = nullptr)
    {
        Outcome outcome;
        auto& call = prepared != nullptr ? *prepared : archive_.start(label, name_, report_);
        ava_error error;
        std::memset(error.message, 'x', sizeof error.message); // unterminated: a plugin must terminate what it writes
        // The host's own frame-to-ABI mapping (frames/frame.h), as a front-end hands a frame to a plugin.
        frames::Frame host_frame;
        host_frame.image = pixels;
        host_frame.format = format;
        host_frame.timestamp = timestamp_.fetch_add(40);
        const auto frame = host_frame.to_abi();
        const auto start = Clock::now();
        const int status = d_.process(session, &frame, &call.sink(), &error);
        outcome.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        ++frames_;
        inferences::InferenceList list;
        try {
            list = call.close();
        } catch (const inferences::AnswerTooLarge& e) {
            report_.fail("answer", label + ": " + e.what());
        }
        if (!checked_status(status, error, label + ": process()", "process")) {
            return outcome;
        }
        if (status != AVA_STATUS_OK) {
            const bool refusal = status == AVA_STATUS_INVALID_ARGUMENT || status == AVA_STATUS_UNSUPPORTED;
            if (!(edge_case && refusal)) {
                report_.fail("process", label + ": process() failed with " + status_name(status) + ": " +
                                            message_of(error) +
                                            (call.last_rejection().empty() ? ""
                                                                           : " (the host refused an inference: " +
                                                                                 call.last_rejection() + ")"));
            }
            return outcome;
        }
        if (!call.last_rejection().empty()) {
            report_.fail("inference", label + ": the host refused an inference: " + call.last_rejection());
        }
        inferences_ += list.size();
        if (!list.empty()) {
            outcome.json = inferences::to_json(list);
            schema_check(outcome.json, label);
        }
        outcome.ok = true;
        return outcome;
    }

    void schema_check(const std::string& json, const std::string& label)
    {
        rapidjson::Document document;
        document.Parse(json.c_str());
        if (document.HasParseError()) {
            report_.fail("schema", label + ": the answer is not JSON: " + clip(json));
            return;
        }
        rapidjson::SchemaValidator validator(*schema_);
        if (document.Accept(validator)) {
            return;
        }
        rapidjson::StringBuffer where;
        validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
        report_.fail("schema", label + ": the answer fails the AVA inference schema (keyword '" +
                                   validator.GetInvalidSchemaKeyword() + "' at " + where.GetString() + "): " + clip(json));
    }

    void stream_in(ava_pixel_format format)
    {
        const auto fname = format_name(format);
        void* session = open(format, fname + " stream");
        if (session == nullptr) {
            result_.formats_refused.push_back(fname);
            return;
        }
        result_.formats_supported.push_back(fname);
        if (reference_format_ == AVA_PIXEL_FORMAT_UNKNOWN) {
            reference_format_ = format;
        }
        for (const auto& picture : pictures_) {
            process(session, in_format(picture, format), format, picture.name + " " + fname, picture.edge_case);
        }
        d_.close_stream(session);
    }

    // The non-edge pictures in the reference format, each processed `rounds` times in turn.
    std::vector<std::pair<std::string, cv::Mat>> sequence(int rounds) const
    {
        std::vector<std::pair<std::string, cv::Mat>> frames;
        for (int r = 0; r < rounds; ++r) {
            for (const auto& picture : pictures_) {
                if (!picture.edge_case) {
                    frames.emplace_back(picture.name, in_format(picture, reference_format_));
                }
            }
        }
        return frames;
    }

    // Answers from a sequential run on a fresh session: what every concurrent caller must get too.
    std::vector<std::string> reference_answers(const std::vector<std::pair<std::string, cv::Mat>>& frames)
    {
        std::vector<std::string> answers;
        void* session = open(reference_format_, "reference stream");
        if (session == nullptr) {
            return answers;
        }
        for (const auto& [label, pixels] : frames) {
            answers.push_back(process(session, pixels, reference_format_, label + " (reference)", false).json);
        }
        d_.close_stream(session);
        return answers;
    }

    void compare(const std::string& caller, std::size_t index, const std::string& label, const Outcome& got,
                 const std::vector<std::string>& expected)
    {
        if (got.ok && index < expected.size() && got.json != expected[index]) {
            report_.fail("concurrency", caller + ", " + label + ": the answer differs from a sequential run's: " +
                                            difference(got.json, expected[index]));
        }
    }

    void concurrency()
    {
        const auto concurrency = d_.concurrency;
        if (concurrency == AVA_CONCURRENCY_SERIAL) {
            report_.note("concurrency: serial (the host makes one call at a time per instance): not exercised");
            return;
        }
        const auto frames = sequence(2);
        const auto expected = reference_answers(frames);
        if (expected.size() != frames.size()) {
            return;
        }
        std::vector<std::jthread> callers;
        std::latch start(options_.threads); // every caller begins at once, so the calls really overlap
        if (concurrency == AVA_CONCURRENCY_PER_SESSION) {
            // Every caller its own session, all at once (open_stream and close_stream too, as the host may).
            for (unsigned t = 0; t < options_.threads; ++t) {
                callers.emplace_back([&, t] {
                    const auto caller = "session " + std::to_string(t + 1);
                    start.arrive_and_wait();
                    void* session = open(reference_format_, caller);
                    if (session == nullptr) {
                        return;
                    }
                    for (std::size_t i = 0; i < frames.size(); ++i) {
                        const auto& [label, pixels] = frames[i];
                        compare(caller, i, label,
                                process(session, pixels, reference_format_, caller + " " + label, false), expected);
                    }
                    d_.close_stream(session);
                });
            }
        } else {
            // Full: every caller on one shared session. Each frame's answer must not depend on the others.
            void* session = open(reference_format_, "shared stream");
            if (session == nullptr) {
                return;
            }
            for (unsigned t = 0; t < options_.threads; ++t) {
                callers.emplace_back([&, t] {
                    const auto caller = "caller " + std::to_string(t + 1);
                    start.arrive_and_wait();
                    for (std::size_t i = 0; i < frames.size(); ++i) {
                        const auto& [label, pixels] = frames[i];
                        compare(caller, i, label,
                                process(session, pixels, reference_format_, caller + " " + label, false), expected);
                    }
                });
            }
            callers.clear(); // joins
            d_.close_stream(session);
        }
        callers.clear();
        report_.note("concurrency: " + concurrency_name(concurrency) + ", " + std::to_string(options_.threads) +
                     " callers x " + std::to_string(frames.size()) + " frames agreed with a sequential run");
    }

    void memory_and_timing()
    {
        void* session = open(reference_format_, "timed stream");
        if (session == nullptr) {
            return;
        }
        const auto& picture = pictures_.front();
        const cv::Mat pixels = in_format(picture, reference_format_);
        const auto label = picture.name + " " + format_name(reference_format_);
        for (int i = 0; i < 30; ++i) { // warm-up: caches, pools and lazy initialisation settle
            process(session, pixels, reference_format_, label + " (warm-up)", false);
        }
        std::vector<FrameCall*> calls;
        calls.reserve(options_.timed_frames);
        for (unsigned i = 0; i < options_.timed_frames; ++i) {
            calls.push_back(&archive_.start(label + " (timed)", name_, report_));
        }
        std::vector<double> times;
        times.reserve(options_.timed_frames);
        const auto heap_before = heap_in_use();
        for (unsigned i = 0; i < options_.timed_frames; ++i) {
            const auto outcome = process(session, pixels, reference_format_, label + " (timed)", false, calls[i]);
            if (outcome.ok) {
                times.push_back(outcome.ms);
            }
        }
        const auto growth = heap_in_use() - heap_before;
        d_.close_stream(session);
        result_.memory_growth_bytes = growth;
        constexpr long long allowed = 256 << 10; // a 1 KiB-a-frame leak shows over the default 300 frames
        if (growth > allowed) {
            report_.fail("memory", "the heap grew by " + std::to_string(growth / 1024) + " KiB over " +
                                       std::to_string(options_.timed_frames) + " frames (" +
                                       std::to_string(growth / std::max(1U, options_.timed_frames)) +
                                       " bytes a frame): a leak? (allowed: " + std::to_string(allowed / 1024) + " KiB)");
        }
        if (!times.empty()) {
            std::sort(times.begin(), times.end());
            const auto at = [&](double q) { return times[static_cast<std::size_t>(q * static_cast<double>(times.size() - 1))]; };
            result_.p50_ms = at(0.50);
            result_.p99_ms = at(0.99);
            result_.timed_frames = times.size();
            result_.timed_on = label;
        }
    }

    const CheckOptions& options_;
    CheckResult& result_;
    Report& report_;
    const ava_plugin_descriptor& d_;
    std::string name_;
    const loading::PluginLibrary& library_;
    rapidjson::Document schema_json_;
    std::optional<rapidjson::SchemaDocument> schema_;
    void* instance_ = nullptr;
    std::vector<Picture> pictures_;
    ava_pixel_format reference_format_ = AVA_PIXEL_FORMAT_UNKNOWN;
    std::atomic<std::uint64_t> timestamp_{0};
    std::atomic<std::size_t> frames_{0};
    std::atomic<std::size_t> inferences_{0};
    CallArchive archive_; // last member: outlives every call made through the others
};

void check_exports(const CheckOptions& options, CheckResult& result)
{
    try {
        for (const auto& symbol : exported_symbols(options.plugin)) {
            result.exports.push_back(readable(symbol.name));
            if (symbol.gnu_unique) {
                result.report.fail("symbols", "GNU-unique symbol " + readable(symbol.name) +
                                                  " (it pins the plugin in memory: build with -fno-gnu-unique, as "
                                                  "ava_add_plugin does)");
            } else if (symbol.name != AVA_PLUGIN_ENTRY_NAME) {
                result.report.fail("symbols", "exports " + readable(symbol.name) +
                                                  "; only " AVA_PLUGIN_ENTRY_NAME " may be exported (build with "
                                                  "ava_add_plugin, or -fvisibility=hidden and the SDK's version script)");
            }
        }
    } catch (const std::exception& e) {
        result.report.fail("symbols", "cannot read the dynamic symbol table: " + std::string(e.what()));
    }
}

void check_descriptor(const loading::PluginLibrary& library, CheckResult& result)
{
    const auto& d = library.descriptor();
    auto& r = result.descriptor;
    r.name = d.name;
    r.version = d.version;
    r.abi = std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor);
    r.description = d.description != nullptr ? d.description : "";
    r.concurrency = concurrency_name(d.concurrency);
    r.struct_size = d.struct_size;
    r.configuration_schema = library.configuration_schema() ? library.configuration_schema()->text() : "";
    r.parameters_schema = library.parameters_schema() ? library.parameters_schema()->text() : "";
    r.input = library.input().describe();
    static const std::regex name_pattern("[a-z0-9_-]+");
    if (!std::regex_match(r.name, name_pattern)) {
        result.report.fail("descriptor", "name '" + r.name + "' is not [a-z0-9_-]+ (it is also the HTTP path)");
    }
    for (const auto& [field, value] : {std::pair{"version", r.version}, std::pair{"description", r.description}}) {
        if (!inferences::is_valid_utf8(value)) {
            result.report.fail("utf8", std::string("descriptor ") + field + " is not valid UTF-8");
        }
    }
    if (r.description.empty()) {
        result.report.fail("descriptor", "no description (one line, shown by GET /analyzers)");
    }
}

} // namespace

void run_checks(const CheckOptions& options, CheckResult& result)
{
    check_exports(options, result);
    const ShadowDir shadow;
    std::shared_ptr<loading::PluginLibrary> library;
    try {
        library = loading::PluginLibrary::load(options.plugin, shadow.path());
    } catch (const std::exception& e) {
        result.report.fail("load", e.what());
        return;
    }
    result.loaded = true;
    check_descriptor(*library, result);
    Run run(options, result, *library);
    run.all();
}

} // namespace ava::plugin_check
