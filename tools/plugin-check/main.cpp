// ava-plugin-check: checks an analyzer plugin the way the host would use it, before it is deployed.
//
//   ava-plugin-check PLUGIN.so [--config JSON] [--params JSON] [--image FILE]... [--json]
//
// Loads the plugin with the host's own loader (shadow copy, ABI and descriptor checks), prints its
// descriptor, creates an instance, opens a stream per pixel format and runs built-in frames (and the given
// images) through it, checking: every returned status is an ava_status; every inference passes the AVA
// inference schema as the host would write it; boxes lie within the frame; strings are UTF-8; nothing is
// emitted through a sink after process() returned; concurrent calls, as the declared concurrency allows,
// answer as a sequential run does; the heap does not grow over many frames; only the entry symbol is
// exported (no GNU-unique symbols). Reports time per frame (p50/p99). Exit status: 0 when every check
// passes, 1 when one fails (one line each), 2 for a usage error.
#include "checker.h"

#include <boost/program_options.hpp>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

namespace {

namespace po = boost::program_options;
using ava::plugin_check::CheckResult;

// A flag that must hold a JSON object.
void require_object(const std::string& flag, const std::string& json)
{
    rapidjson::Document document;
    document.Parse(json.c_str());
    if (document.HasParseError() || !document.IsObject()) {
        throw po::error("--" + flag + " must be a JSON object, e.g. '{\"threshold\": 0.5}'");
    }
}

std::string join(const std::vector<std::string>& items)
{
    std::string text;
    for (const auto& item : items) {
        text += (text.empty() ? "" : " ") + item;
    }
    return text;
}

std::string milliseconds(double ms)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.3f ms", ms);
    return text;
}

void print_text(const ava::plugin_check::CheckOptions& options, const CheckResult& r)
{
    const auto line = [](const char* key, const std::string& value) { std::cout << key << value << "\n"; };
    line("plugin       ", options.plugin.string());
    if (r.loaded) {
        const auto& d = r.descriptor;
        line("name         ", d.name);
        line("version      ", d.version);
        line("ABI          ", d.abi + " (descriptor " + std::to_string(d.struct_size) + " bytes)");
        line("concurrency  ", d.concurrency);
        line("description  ", d.description);
        const auto schema = [](const std::string& text) { return text.empty() ? std::string("not declared") : text; };
        line("configuration", " " + schema(d.configuration_schema));
        line("parameters   ", schema(d.parameters_schema));
        line("input        ", d.input);
    }
    line("exports      ", r.exports.empty() ? "nothing" : join(r.exports));
    if (r.loaded) {
        line("formats      ", join(r.formats_supported) +
                                  (r.formats_refused.empty() ? "" : " (unsupported: " + join(r.formats_refused) + ")"));
        line("frames       ", std::to_string(r.frames) + " processed, " + std::to_string(r.inferences) + " inferences");
        if (r.timed_frames != 0) {
            line("time/frame   ", "p50 " + milliseconds(r.p50_ms) + ", p99 " + milliseconds(r.p99_ms) + " (" +
                                      std::to_string(r.timed_frames) + " frames, " + r.timed_on + ")");
            line("heap growth  ", std::to_string(r.memory_growth_bytes / 1024) + " KiB over the timed frames");
        }
    }
    for (const auto& note : r.report.notes()) {
        line("note         ", note);
    }
    const auto failures = r.report.failures();
    for (const auto& failure : failures) {
        std::cout << "FAIL " << failure << "\n";
    }
    std::cout << (failures.empty() ? "PASS" : "FAIL (" + std::to_string(r.report.failure_count()) + " problems)") << "\n";
}

void print_json(const ava::plugin_check::CheckOptions& options, const CheckResult& r)
{
    rapidjson::StringBuffer out;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(out);
    const auto strings = [&](const char* key, const std::vector<std::string>& items) {
        w.Key(key);
        w.StartArray();
        for (const auto& item : items) {
            w.String(item.c_str());
        }
        w.EndArray();
    };
    const auto failures = r.report.failures();
    w.StartObject();
    w.Key("plugin"), w.String(options.plugin.string().c_str());
    w.Key("passed"), w.Bool(failures.empty());
    if (r.loaded) {
        const auto& d = r.descriptor;
        w.Key("descriptor");
        w.StartObject();
        w.Key("name"), w.String(d.name.c_str());
        w.Key("version"), w.String(d.version.c_str());
        w.Key("abiVersion"), w.String(d.abi.c_str());
        w.Key("structSize"), w.Uint64(d.struct_size);
        w.Key("concurrency"), w.String(d.concurrency.c_str());
        w.Key("description"), w.String(d.description.c_str());
        w.Key("input"), w.String(d.input.c_str());
        for (const auto& [key, text] : {std::pair{"configurationSchema", &d.configuration_schema},
                                        std::pair{"parametersSchema", &d.parameters_schema}}) {
            w.Key(key);
            if (text->empty()) {
                w.Null();
            } else { // valid JSON: the loader compiled it
                w.RawValue(text->c_str(), text->size(), rapidjson::kObjectType);
            }
        }
        w.EndObject();
        strings("formats", r.formats_supported);
        strings("unsupportedFormats", r.formats_refused);
        w.Key("frames"), w.Uint64(r.frames);
        w.Key("inferences"), w.Uint64(r.inferences);
        w.Key("timing");
        w.StartObject();
        w.Key("frames"), w.Uint64(r.timed_frames);
        w.Key("p50Ms"), w.Double(r.p50_ms);
        w.Key("p99Ms"), w.Double(r.p99_ms);
        w.Key("on"), w.String(r.timed_on.c_str());
        w.EndObject();
        w.Key("heapGrowthBytes"), w.Int64(r.memory_growth_bytes);
    }
    strings("exports", r.exports);
    strings("notes", r.report.notes());
    strings("failures", failures);
    w.EndObject();
    std::cout << out.GetString() << "\n";
}

} // namespace

int main(int argc, char* argv[])
{
    spdlog::set_level(spdlog::level::off); // the loader's own log lines: everything is in the report
    ava::plugin_check::CheckOptions options;
    bool json = false;
    po::options_description flags("Usage: ava-plugin-check PLUGIN.so [options]\n\nChecks an analyzer plugin as the "
                                  "host would use it; exit 0 when every check passes.\n\nOptions");
    // clang-format off
    flags.add_options()
        ("help,h", "this help")
        ("config", po::value(&options.config_json), "instance configuration passed to create() (JSON object)")
        ("params", po::value(&options.params_json), "stream parameters passed to open_stream() (JSON object)")
        ("image", po::value(&options.images)->composing(), "also run this image (JPEG/PNG/BMP), in every format; repeatable")
        ("threads", po::value(&options.threads)->default_value(options.threads), "concurrent callers in the concurrency check")
        ("frames", po::value(&options.timed_frames)->default_value(options.timed_frames), "frames of the memory and timing check")
        ("json", po::bool_switch(&json), "print the report as JSON");
    // clang-format on
    po::options_description hidden;
    hidden.add_options()("plugin", po::value<std::string>());
    po::positional_options_description positional;
    positional.add("plugin", 1);
    try {
        po::options_description all;
        all.add(flags).add(hidden);
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
        po::notify(vm);
        if (vm.count("help") != 0U) {
            std::cout << flags << "\n";
            return 0;
        }
        if (vm.count("plugin") == 0U) {
            throw po::error("no plugin given");
        }
        options.plugin = vm["plugin"].as<std::string>();
        require_object("config", options.config_json);
        require_object("params", options.params_json);
        if (options.threads < 2 || options.timed_frames < 10) {
            throw po::error("--threads must be at least 2 and --frames at least 10");
        }
    } catch (const po::error& e) {
        std::cerr << "ava-plugin-check: " << e.what() << "\n" << flags << "\n";
        return 2;
    }
    CheckResult result;
    try {
        ava::plugin_check::run_checks(options, result);
    } catch (const std::exception& e) {
        result.report.fail("checker", e.what());
    }
    if (json) {
        print_json(options, result);
    } else {
        print_text(options, result);
    }
    return result.report.failure_count() == 0 ? 0 : 1;
}
