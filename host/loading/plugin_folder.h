#pragma once
// PluginLoader: turns .so files in the plugins folder into registered analyzers. A file that cannot be
// loaded (not ELF, missing entry symbol, other ABI major, create fails) is refused with one log line and
// never affects the others.

#include "analyzer_registry.h"

#include <filesystem>
#include <map>
#include <string>

namespace ava::loading {

struct LoadReport {
    std::vector<std::string> loaded;  // analyzer names
    std::vector<std::string> refused; // one message per refused file
};

class PluginLoader {
public:
    // analyzer_configs: instance configuration (JSON object) per analyzer name; "{}" for the others.
    PluginLoader(std::filesystem::path plugins_dir, std::map<std::string, std::string> analyzer_configs = {});
    PluginLoader(const PluginLoader&) = delete;
    PluginLoader& operator=(const PluginLoader&) = delete;
    ~PluginLoader(); // removes the private shadow folder

    // Loads every *.so in the plugins folder (sorted by file name) into the registry.
    LoadReport load_all(AnalyzerRegistry& registry) const;

    // Loads one file into an analyzer instance without registering it. Throws PluginLoadError/AnalyzerError.
    std::shared_ptr<Analyzer> load_file(const std::filesystem::path& file) const;

    const std::filesystem::path& plugins_dir() const noexcept { return plugins_dir_; }

private:
    std::filesystem::path plugins_dir_;
    std::filesystem::path shadow_dir_;
    std::map<std::string, std::string> analyzer_configs_;
};

} // namespace ava::loading
