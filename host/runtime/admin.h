#pragma once
// Admin: what the admin endpoints (GET /analyzers, POST /admin/reload) ask of the running host, and what
// they get back. Implemented by Reloader; kept apart so the HTTP layer knows nothing of how reloads work.

#include "loading/plugin_folder.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ava::runtime {

struct ConfigReloadReport {
    std::filesystem::path file;
    bool applied = false;
    std::string error;                          // why the new file was refused ("" when applied)
    std::vector<std::string> restart_required;  // settings that changed but take effect only on restart
};

struct ReloadReport {
    std::optional<ConfigReloadReport> config; // none when the host runs without a configuration file
    loading::ScanReport plugins;
    bool ok() const { return (!config || config->applied) && plugins.refused.empty(); }
};

struct ReloadCounters {
    loading::PluginCounters plugins;
    std::uint64_t config_reloads = 0;  // configurations applied while serving
    std::uint64_t config_refusals = 0; // new configurations refused (the running one stayed)
    std::string last_config_refusal;
};

class Admin {
public:
    virtual ~Admin() = default;
    virtual std::vector<loading::AnalyzerState> analyzers() const = 0;
    virtual ReloadCounters counters() const = 0;
    // Re-reads the configuration file and rescans the plugins folder; blocks until done.
    virtual ReloadReport reload() = 0;
};

} // namespace ava::runtime
