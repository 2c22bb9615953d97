#include "plugin_folder.h"

#include "in_process_plugin.h"
#include "isolation/isolated_plugin.h"
#include "isolation/worker_path.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace ava::loading {
namespace {

const std::string empty_config = "{}";

std::string described(const Analyzer& analyzer)
{
    return analyzer.name() + " " + analyzer.plugin().version() + " from " + analyzer.plugin().source().string();
}

AnalyzerState state_of(const Analyzer& analyzer, bool draining)
{
    const auto& plugin = analyzer.plugin();
    return AnalyzerState{analyzer.name(),  plugin.version(),     plugin.abi_version(), plugin.description(),
                         plugin.source(),  plugin.loaded_path(), plugin.load_time(),   draining,
                         plugin.isolation(), plugin.health(), plugin.info().configuration_schema,
                         plugin.info().parameters_schema, plugin.input()};
}

// dlclose does not unmap a library that marked itself unloadable (GCC's STB_GNU_UNIQUE symbols do):
// say so, rather than let a leak across reloads go unnoticed.
bool still_mapped(const std::filesystem::path& file)
{
    std::ifstream maps("/proc/self/maps");
    const std::string text((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
    return text.find(file.string()) != std::string::npos;
}

} // namespace

void ScanReport::append(ScanReport other)
{
    std::move(other.loaded.begin(), other.loaded.end(), std::back_inserter(loaded));
    std::move(other.removed.begin(), other.removed.end(), std::back_inserter(removed));
    std::move(other.refused.begin(), other.refused.end(), std::back_inserter(refused));
}

PluginFolder::PluginFolder(AnalyzerRegistry& registry, std::filesystem::path folder, AnalyzerConfigs configs,
                           IsolationSettings isolation)
    : PluginFolder(registry, std::vector<std::filesystem::path>{std::move(folder)}, std::move(configs),
                   std::move(isolation))
{
}

PluginFolder::PluginFolder(AnalyzerRegistry& registry, std::vector<std::filesystem::path> folders,
                           AnalyzerConfigs configs, IsolationSettings isolation)
    : registry_(registry), folders_(std::move(folders)),
      shadow_dir_(std::filesystem::temp_directory_path() / ("ava-extension-host." + std::to_string(::getpid()))),
      configs_(std::move(configs)), isolation_(std::move(isolation))
{
    if (isolation_.worker_executable.empty()) {
        isolation_.worker_executable = isolation::default_worker_executable();
    }
    for (auto& folder : folders_) {
        if (!folder.has_filename() && folder.has_relative_path()) {
            folder = folder.parent_path(); // "dir/" -> "dir": a file's parent_path() names its folder
        }
    }
    std::filesystem::create_directories(shadow_dir_);
}

PluginFolder::~PluginFolder()
{
    std::error_code ignored;
    std::filesystem::remove_all(shadow_dir_, ignored);
}

ScanReport PluginFolder::load_all()
{
    auto report = rescan();
    serving_ = true;
    return report;
}

std::vector<std::filesystem::path> PluginFolder::plugin_files(ScanReport& report,
                                                              std::vector<std::filesystem::path>& unreadable) const
{
    std::vector<std::filesystem::path> all;
    for (const auto& folder : folders_) {
        std::error_code ec;
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
            if (entry.path().extension() == ".so" && entry.is_regular_file()) {
                files.push_back(entry.path());
            }
        }
        if (ec) {
            report.refused.push_back(folder.string() + ": cannot read the plugins folder: " + ec.message());
            spdlog::error("{}", report.refused.back());
            unreadable.push_back(folder);
            continue;
        }
        std::sort(files.begin(), files.end());
        all.insert(all.end(), files.begin(), files.end());
    }
    return all;
}

ScanReport PluginFolder::rescan(bool retry_refused)
{
    ScanReport report;
    std::vector<std::filesystem::path> unreadable;
    const auto files = plugin_files(report, unreadable); // folder by folder: the load order
    if (retry_refused) {
        for (const auto& analyzer : registry_.list()) {
            analyzer->shared_plugin()->reset_failures();
        }
    }
    auto sorted = files;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::filesystem::path> gone;
    for (const auto& [file, provided] : provided_) {
        // An unreadable folder says nothing about which of its plugins are gone.
        const bool folder_unreadable =
            std::find(unreadable.begin(), unreadable.end(), file.parent_path()) != unreadable.end();
        if (!folder_unreadable && !std::binary_search(sorted.begin(), sorted.end(), file)) {
            gone.push_back(file);
        }
    }
    for (const auto& file : gone) {
        report.append(file_vanished(file));
    }
    for (const auto& file : files) {
        report.append(file_settled(file, retry_refused));
    }
    return report;
}

ScanReport PluginFolder::file_settled(const std::filesystem::path& file, bool retry_refused)
{
    ScanReport report;
    const auto stamp = stamp_of(file);
    if (!stamp) {
        return file_vanished(file);
    }
    const auto known = provided_.find(file);
    if (known != provided_.end() && known->second.stamp == *stamp) {
        return report; // this version is the one loaded
    }
    if (const auto refused = refused_.find(file); !retry_refused && refused != refused_.end() && refused->second == *stamp) {
        return report; // refused before, unchanged since
    }
    std::shared_ptr<Analyzer> analyzer;
    std::string refusal;
    try {
        auto plugin = load_plugin(file);
        for (const auto& [other, provided] : provided_) {
            if (other != file && provided.analyzer == plugin->name()) {
                throw PluginLoadError(file.string() + ": refused: analyzer name '" + plugin->name() +
                                      "' is already provided by " + other.string());
            }
        }
        analyzer = Analyzer::create(plugin, config_for(plugin->name()));
    } catch (const PluginLoadError& e) {
        refusal = e.what();
    } catch (const std::exception& e) {
        refusal = file.string() + ": refused: " + e.what();
    }
    if (!analyzer) {
        const auto serving = known != provided_.end() ? registry_.find(known->second.analyzer) : nullptr;
        if (serving) {
            refusal += " (version " + serving->plugin().version() + " of '" + serving->name() + "' keeps serving)";
        }
        refuse(report, file, *stamp, std::move(refusal));
        return report;
    }
    if (known != provided_.end() && known->second.analyzer != analyzer->name()) {
        spdlog::info("{} now provides analyzer '{}' instead of '{}': '{}' takes no new work", file.string(),
                     analyzer->name(), known->second.analyzer, known->second.analyzer);
        report.removed.push_back(known->second.analyzer);
        retire(registry_.remove(known->second.analyzer));
    }
    provided_[file] = Provided{analyzer->name(), *stamp};
    refused_.erase(file);
    report.loaded.push_back(described(*analyzer));
    const auto replaced = registry_.put(analyzer);
    if (replaced) {
        spdlog::info("analyzer '{}' version {} (ABI {}, isolation {}) from {} replaces version {}: new work goes "
                     "to {}, open streams finish on {}",
                     analyzer->name(), analyzer->plugin().version(), analyzer->plugin().abi_version(),
                     to_string(analyzer->plugin().isolation()), file.string(), replaced->plugin().version(),
                     analyzer->plugin().version(), replaced->plugin().version());
    } else {
        spdlog::info("loaded analyzer '{}' version {} (ABI {}, isolation {}) from {}", analyzer->name(),
                     analyzer->plugin().version(), analyzer->plugin().abi_version(),
                     to_string(analyzer->plugin().isolation()), file.string());
    }
    retire(replaced);
    count_reload();
    return report;
}

ScanReport PluginFolder::file_vanished(const std::filesystem::path& file)
{
    ScanReport report;
    refused_.erase(file);
    const auto known = provided_.find(file);
    if (known == provided_.end()) {
        return report;
    }
    const auto name = known->second.analyzer;
    provided_.erase(known);
    auto removed = registry_.remove(name);
    spdlog::info("{} is gone: analyzer '{}' takes no new work and unloads once its open streams end",
                 file.string(), name);
    report.removed.push_back(name);
    retire(std::move(removed));
    count_reload();
    return report;
}

void PluginFolder::set_analyzer_configs(AnalyzerConfigs configs)
{
    std::vector<std::shared_ptr<Analyzer>> fresh;
    for (const auto& active : registry_.list()) {
        const auto it = configs.find(active->name());
        const auto& next = it != configs.end() ? it->second : empty_config;
        if (next == active->config_json()) {
            continue;
        }
        try {
            fresh.push_back(Analyzer::create(active->shared_plugin(), next));
        } catch (const AnalyzerError& e) {
            throw AnalyzerConfigError(active->name(), e.what());
        }
    }
    // Only now that every new instance exists: swap them in, all at once.
    for (auto& analyzer : fresh) {
        spdlog::info("analyzer '{}': new configuration applied to new work; open streams keep the old one",
                     analyzer->name());
        retire(registry_.put(analyzer));
    }
    configs_ = std::move(configs);
}

std::shared_ptr<LoadedPlugin> PluginFolder::load_plugin(const std::filesystem::path& file) const
{
    const auto in_process = [&] { return std::make_shared<InProcessPlugin>(PluginLibrary::load(file, shadow_dir_)); };
    const auto isolated = [&]() -> std::shared_ptr<LoadedPlugin> {
        if (isolation_.worker_executable.empty()) {
            throw PluginLoadError(file.string() + ": refused: isolation is \"process\" but the analyzer worker "
                                  "executable (ava-analyzer-worker) was not found");
        }
        return isolation::IsolatedPlugin::load(file, isolation_, shadow_dir_);
    };
    // Only the plugin knows its analyzer name, which per-analyzer settings use: it is loaded the default
    // way first (so an untrusted plugin is loaded in a worker first), then moved if its name says so.
    std::shared_ptr<LoadedPlugin> plugin = isolation_.mode == Isolation::process ? isolated() : in_process();
    if (isolation_.mode_for(plugin->name()) != plugin->isolation()) {
        const auto name = plugin->name();
        plugin.reset();
        plugin = isolation_.mode == Isolation::process ? in_process() : isolated();
        if (plugin->name() != name) { // a worker's hello said otherwise than the descriptor
            throw PluginLoadError(file.string() + ": refused: it was analyzer '" + name + "' when first loaded and '" +
                                  plugin->name() + "' when loaded again");
        }
    }
    return plugin;
}

const std::string& PluginFolder::config_for(const std::string& analyzer) const
{
    const auto it = configs_.find(analyzer);
    return it != configs_.end() ? it->second : empty_config;
}

void PluginFolder::refuse(ScanReport& report, const std::filesystem::path& file, const FileStamp& stamp,
                          std::string message)
{
    spdlog::error("plugin {}", message);
    refused_[file] = stamp;
    std::lock_guard lock(mutex_);
    ++counters_.refusals;
    counters_.last_refusal = message;
    report.refused.push_back(std::move(message));
}

void PluginFolder::count_reload()
{
    if (serving_) {
        std::lock_guard lock(mutex_);
        ++counters_.reloads;
    }
}

void PluginFolder::retire(std::shared_ptr<Analyzer> analyzer)
{
    if (analyzer) {
        std::lock_guard lock(mutex_);
        draining_.push_back(std::move(analyzer));
    }
}

std::size_t PluginFolder::reap()
{
    std::vector<std::shared_ptr<Analyzer>> drained;
    std::size_t remaining = 0;
    {
        std::lock_guard lock(mutex_);
        // use_count 1: only this list holds it, and nothing can take a new reference (it is in no registry).
        const auto idle = std::stable_partition(draining_.begin(), draining_.end(),
                                                [](const auto& analyzer) { return analyzer.use_count() > 1; });
        std::move(idle, draining_.end(), std::back_inserter(drained));
        draining_.erase(idle, draining_.end());
        remaining = draining_.size();
    }
    for (auto& analyzer : drained) {
        const auto state = state_of(*analyzer, true);
        const std::weak_ptr<LoadedPlugin> library = analyzer->shared_plugin();
        analyzer.reset(); // destroy() the instance and, if this was the library's last instance, dlclose it
        if (!library.expired()) {
            spdlog::info("analyzer '{}' version {}: previous instance drained and destroyed", state.name, state.version);
        } else if (state.isolation == Isolation::none && still_mapped(state.loaded_from)) {
            spdlog::warn("analyzer '{}' version {} drained, but its library stays mapped after dlclose (it marked "
                         "itself non-unloadable, e.g. GCC unique symbols: build plugins with -fno-gnu-unique)",
                         state.name, state.version);
        } else {
            spdlog::info("analyzer '{}' version {} drained and unloaded ({})", state.name, state.version,
                         state.source.string());
        }
    }
    return remaining;
}

std::size_t PluginFolder::draining() const
{
    std::lock_guard lock(mutex_);
    return draining_.size();
}

std::vector<AnalyzerState> PluginFolder::analyzers() const
{
    std::vector<AnalyzerState> out;
    for (const auto& analyzer : registry_.list()) {
        out.push_back(state_of(*analyzer, false));
    }
    std::lock_guard lock(mutex_);
    for (const auto& analyzer : draining_) {
        out.push_back(state_of(*analyzer, true));
    }
    return out;
}

PluginCounters PluginFolder::counters() const
{
    std::lock_guard lock(mutex_);
    return counters_;
}

} // namespace ava::loading
