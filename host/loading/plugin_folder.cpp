#include "plugin_loader.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unistd.h>

namespace ava::loading {

PluginLoader::PluginLoader(std::filesystem::path plugins_dir, std::map<std::string, std::string> analyzer_configs)
    : plugins_dir_(std::move(plugins_dir)),
      shadow_dir_(std::filesystem::temp_directory_path() / ("ava-extension-host." + std::to_string(::getpid()))),
      analyzer_configs_(std::move(analyzer_configs))
{
    std::filesystem::create_directories(shadow_dir_);
}

PluginLoader::~PluginLoader()
{
    std::error_code ignored;
    std::filesystem::remove_all(shadow_dir_, ignored);
}

std::shared_ptr<Analyzer> PluginLoader::load_file(const std::filesystem::path& file) const
{
    auto library = PluginLibrary::load(file, shadow_dir_);
    const auto config = analyzer_configs_.find(library->name());
    return Analyzer::create(std::move(library), config != analyzer_configs_.end() ? config->second : "{}");
}

LoadReport PluginLoader::load_all(AnalyzerRegistry& registry) const
{
    LoadReport report;
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(plugins_dir_, ec)) {
        if (entry.path().extension() == ".so" && entry.is_regular_file()) {
            files.push_back(entry.path());
        }
    }
    if (ec) {
        report.refused.push_back(plugins_dir_.string() + ": cannot read the plugins folder: " + ec.message());
        spdlog::error("{}", report.refused.back());
        return report;
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        try {
            auto analyzer = load_file(file);
            if (registry.find(analyzer->name()) != nullptr) {
                throw PluginLoadError(file.string() + ": refused: analyzer name '" + analyzer->name() +
                                      "' is already provided by another plugin");
            }
            spdlog::info("loaded analyzer '{}' version {} (ABI {}) from {}", analyzer->name(),
                         analyzer->library().version(), analyzer->library().abi_version(), file.string());
            report.loaded.push_back(analyzer->name());
            registry.put(std::move(analyzer));
        } catch (const PluginLoadError& e) {
            report.refused.emplace_back(e.what());
            spdlog::error("plugin {}", report.refused.back());
        } catch (const std::exception& e) {
            report.refused.push_back(file.string() + ": refused: " + e.what());
            spdlog::error("plugin {}", report.refused.back());
        }
    }
    return report;
}

} // namespace ava::loading
