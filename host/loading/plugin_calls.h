#pragma once
// The plugin calls that hand over a configuration or parameters (create, open_stream), made the same way
// wherever the plugin runs: in the host (InProcessPlugin) or in an analyzer worker (isolation/worker). A
// 1.1 plugin also gets them through typed getters (ParameterValues), built here for the call's duration.

#include "analyzer.h"

#include <ava_plugin.h>

#include <string>

namespace ava::loading {

// One call's outcome. status is held as int: a plugin may return any number.
struct PluginCall {
    int status = AVA_STATUS_OK;
    std::string message; // the plugin's error, or why an OK status was not good enough
    void* handle = nullptr; // the instance or session; nullptr unless status is OK
};

// create_with_parameters when the plugin declares it (ABI 1.1), else create.
PluginCall call_create(const ava_plugin_descriptor& descriptor, const std::string& config_json);
// open_stream on `instance`, whose configuration was `config_json`.
PluginCall call_open_stream(const ava_plugin_descriptor& descriptor, void* instance, const std::string& config_json,
                            const StreamInfo& info);

} // namespace ava::loading
