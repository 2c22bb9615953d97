#pragma once
// LoadedPlugin: one loaded version of a plugin, as the rest of the host sees it, whichever process runs its
// code: in the host itself (InProcessPlugin, isolation "none") or in an analyzer worker process
// (isolation::IsolatedPlugin, the default). It makes analyzer instances (Analyzer) of itself.

#include "parameter_schema.h"

#include "frames/input_request.h"

#include <ava_plugin.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace ava::loading {

class Analyzer;

enum class Isolation { process, none };

inline const char* to_string(Isolation isolation) { return isolation == Isolation::process ? "process" : "none"; }

struct PluginInfo {
    std::string name;
    std::string version;
    std::string description;
    std::string abi_version; // "1.0"
    ava_concurrency concurrency = AVA_CONCURRENCY_SERIAL;
    std::filesystem::path source;      // the file in the plugins folder
    std::filesystem::path loaded_path; // the private shadow copy that was dlopened
    std::chrono::system_clock::time_point load_time;
    // ABI 1.1: what the plugin declared (nullptr: nothing), compiled when it loaded.
    std::shared_ptr<const ParameterSchema> configuration_schema;
    std::shared_ptr<const ParameterSchema> parameters_schema;
    // ABI 1.2: the frames it needs (nothing declared: frames as sent, decoded at full size).
    frames::InputRequest input;
};

// How an isolated plugin is doing, for /analyzers, readiness and the router.
struct PluginHealth {
    enum class State { running, restarting, failed };
    State state = State::running;
    std::uint64_t restarts = 0;  // worker processes started after the first
    std::string last_failure;    // why the last worker ended or the last call was abandoned
    int pid = 0;                 // the current worker process (0: none / in process)
};

inline const char* to_string(PluginHealth::State state)
{
    switch (state) {
    case PluginHealth::State::running: return "running";
    case PluginHealth::State::restarting: return "restarting";
    case PluginHealth::State::failed: return "failed";
    }
    return "unknown";
}

class LoadedPlugin {
public:
    explicit LoadedPlugin(PluginInfo info) : info_(std::move(info)) {}
    LoadedPlugin(const LoadedPlugin&) = delete;
    LoadedPlugin& operator=(const LoadedPlugin&) = delete;
    virtual ~LoadedPlugin() = default;

    // A new instance with this configuration (a JSON object). Throws AnalyzerError.
    virtual std::shared_ptr<Analyzer> create_analyzer(std::string config_json) = 0;
    virtual Isolation isolation() const noexcept = 0;
    virtual PluginHealth health() const { return {}; }
    // Forgets a "failed" verdict (an operator asked for a reload): the next call tries again.
    virtual void reset_failures() {}

    const PluginInfo& info() const noexcept { return info_; }
    const std::string& name() const noexcept { return info_.name; }
    const std::string& version() const noexcept { return info_.version; }
    const std::string& description() const noexcept { return info_.description; }
    const std::string& abi_version() const noexcept { return info_.abi_version; }
    ava_concurrency concurrency() const noexcept { return info_.concurrency; }
    const std::filesystem::path& source() const noexcept { return info_.source; }
    const std::filesystem::path& loaded_path() const noexcept { return info_.loaded_path; }
    std::chrono::system_clock::time_point load_time() const noexcept { return info_.load_time; }
    const frames::InputRequest& input() const noexcept { return info_.input; }

private:
    PluginInfo info_;
};

} // namespace ava::loading
