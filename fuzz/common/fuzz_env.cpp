#include "fuzz_env.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <random>
#include <unistd.h>

namespace ava::fuzz {

void fail(const char* file, int line, const char* condition, std::string_view what)
{
    std::fprintf(stderr, "\n==ava-fuzz== %s:%d: check failed: %s\n==ava-fuzz== %.*s\n", file, line, condition,
                 static_cast<int>(std::min<std::size_t>(what.size(), 4000)), what.data());
    std::abort(); // libFuzzer reports it as a crash and saves the input
}

runtime::ReloadCounters FuzzAdmin::counters() const
{
    runtime::ReloadCounters counters;
    counters.plugins = folder_.counters();
    return counters;
}

void quiet_logs() { spdlog::set_level(spdlog::level::off); }

routing::RouteTable example_routes()
{
    routing::RouteTable table;
    table.default_analyzer = "color_intensity";
    table.default_path = "/score";
    routing::Route by_path;
    by_path.analyzer = "color_intensity";
    by_path.parameters_json = R"({"threshold":100})";
    by_path.http_path = "/bright";
    routing::Route by_configuration;
    by_configuration.analyzer = "motion";
    by_configuration.parameters_json = R"({"warmup_frames":0,"max_width":64})";
    by_configuration.extension_configuration = "camera-motion";
    routing::Route by_pipeline;
    by_pipeline.analyzer = "color_intensity";
    by_pipeline.pipeline = "lobby";
    by_pipeline.http_path = "/lobby";
    table.routes = {by_path, by_configuration, by_pipeline};
    return table;
}

Environment& environment()
{
    static Environment* env = [] {
        quiet_logs();
        auto* e = new Environment;
        std::random_device random;
        e->scratch = std::filesystem::temp_directory_path() /
                     ("ava-fuzz." + std::to_string(::getpid()) + "." + std::to_string(random()));
        const auto folder = e->scratch / "plugins";
        std::filesystem::create_directories(folder);
        for (const char* name : {"libcolor_intensity.so", "libmotion.so"}) {
            const auto from = std::filesystem::path(AVA_FUZZ_PLUGINS_DIR) / name;
            if (std::filesystem::exists(from)) {
                std::filesystem::copy_file(from, folder / name);
            } else {
                std::fprintf(stderr, "ava-fuzz: %s not built; running without it\n", from.c_str());
            }
        }
        // In process: the fuzzers look for the host's bugs, and a worker per input would only slow them.
        loading::IsolationSettings in_process;
        in_process.mode = loading::Isolation::none;
        e->plugins = std::make_unique<loading::PluginFolder>(e->registry, folder, loading::PluginFolder::AnalyzerConfigs{},
                                                             in_process);
        const auto report = e->plugins->load_all();
        for (const auto& refused : report.refused) {
            std::fprintf(stderr, "ava-fuzz: plugin refused: %s\n", refused.c_str());
        }
        e->router = std::make_unique<routing::Router>(e->registry, example_routes());
        e->admin = std::make_unique<FuzzAdmin>(*e->plugins);
        e->readiness.http_bound = true;
        e->readiness.grpc_bound = true;
        // The scratch folder is left behind only if the process dies: remove it on a normal exit.
        std::atexit([] {
            std::error_code ignored;
            std::filesystem::remove_all(environment().scratch, ignored);
        });
        return e;
    }();
    return *env;
}

bool valid_utf8(std::string_view text)
{
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            length = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            length = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            length = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + length > n) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((length == 3 && cp < 0x800) || (length == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += length;
    }
    return true;
}

bool parses_as_json(std::string_view json, bool utf8)
{
    rapidjson::Document doc;
    if (utf8) {
        doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
    } else {
        doc.Parse(json.data(), json.size());
    }
    return !doc.HasParseError();
}

} // namespace ava::fuzz
