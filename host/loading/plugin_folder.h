#pragma once
// PluginFolder: the plugins folders as the host serves them (one or more, e.g. the bundled plugins and a
// deployment's own). Each *.so is loaded (from a private shadow copy,
// see PluginLibrary) into an analyzer instance with its configuration and registered; PluginFolder
// remembers which file provides which analyzer name, so a file replaced by one providing another name
// retires the old name. A file that cannot be loaded (not ELF, missing symbol, other ABI major, create
// fails, half-written) is refused with one log line and changes nothing: the version before keeps serving.
//
// Replaced and removed versions leave the registry at once (no new work) but stay in a draining list until
// their last user (an open stream, a request in flight) lets go; reap() then destroys them on the caller's
// thread. So the plugin's destroy() and the dlclose never run on a frame worker or an I/O thread, and the
// listing can show versions that are still draining.
//
// Changes (load_all, rescan, file_settled, file_vanished, set_analyzer_configs, reap) come from one thread
// at a time (the host's admin thread); analyzers(), counters() and draining() may be called from any.

#include "analyzer_registry.h"
#include "file_stamp.h"
#include "plugin_isolation.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace ava::loading {

// What one change did; every line is also logged.
struct ScanReport {
    std::vector<std::string> loaded;  // "swap 2.0.0 from /plugins/libswap.so"
    std::vector<std::string> removed; // analyzer names that stopped taking new work
    std::vector<std::string> refused; // one message per refused file
    void append(ScanReport other);
};

struct AnalyzerState {
    std::string name;
    std::string version;
    std::string abi_version;
    std::string description;
    std::filesystem::path source;      // the file in the plugins folder
    std::filesystem::path loaded_from; // its private shadow copy (what /proc/<pid>/maps shows)
    std::chrono::system_clock::time_point loaded_at;
    bool draining = false; // replaced or removed: finishing its open streams, then unloaded
    Isolation isolation = Isolation::none;
    PluginHealth health;
    std::shared_ptr<const ParameterSchema> configuration_schema; // ABI 1.1, nullptr: none declared
    std::shared_ptr<const ParameterSchema> parameters_schema;
    frames::InputRequest input; // ABI 1.2
};

struct PluginCounters {
    std::uint64_t reloads = 0;  // versions loaded, replaced or removed while serving (the first load excluded)
    std::uint64_t refusals = 0; // files refused, at start or later
    std::string last_refusal;
};

// A new analyzer configuration was refused by the analyzer's create(); nothing was changed.
class AnalyzerConfigError : public std::runtime_error {
public:
    AnalyzerConfigError(std::string analyzer, const std::string& message)
        : std::runtime_error(message), analyzer_(std::move(analyzer))
    {
    }
    const std::string& analyzer() const noexcept { return analyzer_; }

private:
    std::string analyzer_;
};

class PluginFolder {
public:
    using AnalyzerConfigs = std::map<std::string, std::string>; // analyzer name -> configuration (JSON object)

    // Isolation: where plugin code runs (default: each plugin version in its own worker process).
    PluginFolder(AnalyzerRegistry& registry, std::filesystem::path folder, AnalyzerConfigs configs = {},
                 IsolationSettings isolation = {});
    // Several folders: files load folder by folder in this order, so of two files providing one analyzer
    // name, the one in the earlier folder wins.
    PluginFolder(AnalyzerRegistry& registry, std::vector<std::filesystem::path> folders, AnalyzerConfigs configs = {},
                 IsolationSettings isolation = {});
    PluginFolder(const PluginFolder&) = delete;
    PluginFolder& operator=(const PluginFolder&) = delete;
    ~PluginFolder(); // removes the private shadow folder

    // The first load: every *.so, by folder then file name (of two files with one analyzer name, the first wins).
    ScanReport load_all();
    // Makes the registry match the folders: new and changed files load, vanished ones are retired. An
    // unreadable folder changes nothing for the files it held. A refused file is tried again when it changed,
    // or when asked to (retry_refused, which also clears analyzers marked failed).
    ScanReport rescan(bool retry_refused = false);
    // One file that is there and no longer being written: loads it unless this version is already loaded
    // (or was refused, unless retry_refused).
    ScanReport file_settled(const std::filesystem::path& file, bool retry_refused = false);
    // One file that went away: its analyzer stops taking new work.
    ScanReport file_vanished(const std::filesystem::path& file);

    // New instances for the analyzers whose configuration changed, all or none. Throws AnalyzerConfigError.
    void set_analyzer_configs(AnalyzerConfigs configs);

    // Unloads the retired versions nobody uses any more; returns how many still drain.
    std::size_t reap();
    std::size_t draining() const;

    std::vector<AnalyzerState> analyzers() const; // active ones by name, then draining ones
    PluginCounters counters() const;
    const std::vector<std::filesystem::path>& folders() const noexcept { return folders_; }

private:
    struct Provided {
        std::string analyzer;
        FileStamp stamp;
    };

    // Every *.so, folder by folder; `unreadable` gets the folders that could not be listed.
    std::vector<std::filesystem::path> plugin_files(ScanReport& report,
                                                    std::vector<std::filesystem::path>& unreadable) const;
    const std::string& config_for(const std::string& analyzer) const;
    // Loads `file` where the isolation settings say its analyzer runs. Throws PluginLoadError.
    std::shared_ptr<LoadedPlugin> load_plugin(const std::filesystem::path& file) const;
    void refuse(ScanReport& report, const std::filesystem::path& file, const FileStamp& stamp, std::string message);
    void retire(std::shared_ptr<Analyzer> analyzer);
    void count_reload();

    AnalyzerRegistry& registry_;
    std::vector<std::filesystem::path> folders_;
    std::filesystem::path shadow_dir_;
    AnalyzerConfigs configs_;
    IsolationSettings isolation_;
    std::map<std::filesystem::path, Provided> provided_; // file -> the analyzer it provides now
    std::map<std::filesystem::path, FileStamp> refused_;  // file -> the version of it that was refused
    bool serving_ = false; // after load_all: later loads count as reloads

    mutable std::mutex mutex_; // guards what other threads read: draining_ and counters_
    std::vector<std::shared_ptr<Analyzer>> draining_;
    PluginCounters counters_;
};

} // namespace ava::loading
