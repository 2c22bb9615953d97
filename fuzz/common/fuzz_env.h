#pragma once
// What every fuzz target shares: quiet logs, and a host-like environment built once per process — the
// real plugins (from this build's plugins-out) loaded through PluginFolder into an AnalyzerRegistry, a
// Router over a route table like packaging/config.example.json's, and a tiny runtime::Admin.

#include "loading/analyzer_registry.h"
#include "loading/plugin_folder.h"
#include "routing/router.h"
#include "runtime/admin.h"
#include "runtime/memory_budget.h"
#include "runtime/readiness.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace ava::fuzz {

// Stops the run with a libFuzzer crash report when an invariant does not hold.
#define AVA_FUZZ_CHECK(condition, what)                                                                          \
    do {                                                                                                         \
        if (!(condition)) {                                                                                      \
            ::ava::fuzz::fail(__FILE__, __LINE__, #condition, what);                                             \
        }                                                                                                        \
    } while (0)

[[noreturn]] void fail(const char* file, int line, const char* condition, std::string_view what);

// Minimal Admin for RequestHandler: the listing shows the folder's analyzers; reload() changes nothing.
class FuzzAdmin final : public runtime::Admin {
public:
    explicit FuzzAdmin(const loading::PluginFolder& folder) : folder_(folder) {}
    std::vector<loading::AnalyzerState> analyzers() const override { return folder_.analyzers(); }
    runtime::ReloadCounters counters() const override;
    runtime::ReloadReport reload() override { return {}; }

private:
    const loading::PluginFolder& folder_;
};

struct Environment {
    std::filesystem::path scratch;       // private temp folder of this process (plugins copy, shm files, ...)
    loading::AnalyzerRegistry registry;  // color_intensity and motion, loaded like the host loads them
    std::unique_ptr<loading::PluginFolder> plugins;
    std::unique_ptr<routing::Router> router;
    std::unique_ptr<FuzzAdmin> admin;
    runtime::MemoryBudget memory{512u << 20}; // the host's frame-bytes budget (limits.maxFrameBytesInFlight)
    runtime::Readiness readiness;             // both front-ends "bound", not draining
};

// Built on first use, never destroyed (fuzzers exit without unwinding).
Environment& environment();

// Silences spdlog: the host logs every refused input, which would drown libFuzzer's output.
void quiet_logs();

// A route table with a route of each kind (path, extension_configuration, pipeline) and parameters.
routing::RouteTable example_routes();

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points over U+10FFFF).
bool valid_utf8(std::string_view text);

// Checks that `json` is one JSON document (RapidJSON, UTF-8 validated when `utf8` is true).
bool parses_as_json(std::string_view json, bool utf8);

} // namespace ava::fuzz
