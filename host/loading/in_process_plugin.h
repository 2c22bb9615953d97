#pragma once
// InProcessPlugin: a plugin whose code runs inside the host (isolation "none"): calls go straight through
// the C ABI. Fastest, and trusted: a crash or hang in the plugin is the host's.

#include "analyzer.h"
#include "plugin_library.h"

namespace ava::loading {

class InProcessPlugin : public LoadedPlugin, public std::enable_shared_from_this<InProcessPlugin> {
public:
    explicit InProcessPlugin(std::shared_ptr<PluginLibrary> library);

    std::shared_ptr<Analyzer> create_analyzer(std::string config_json) override;
    Isolation isolation() const noexcept override { return Isolation::none; }
    const ava_plugin_descriptor& descriptor() const noexcept { return library_->descriptor(); }

private:
    std::shared_ptr<PluginLibrary> library_;
};

// What PluginLibrary loaded, as LoadedPlugin describes it.
PluginInfo info_of(const PluginLibrary& library);

} // namespace ava::loading
