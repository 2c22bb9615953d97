#include "plugin_calls.h"

#include "parameter_values.h"

#include <memory>

namespace ava::loading {
namespace {

// Whether the plugin was built with ABI 1.1's descriptor (and so may read the getters).
bool knows_parameters(const ava_plugin_descriptor& descriptor)
{
    return AVA_HAS_FIELD(&descriptor, ava_plugin_descriptor, create_with_parameters);
}

PluginCall outcome(int status, void* handle, const ava_error& error, const char* fallback)
{
    PluginCall call;
    if (status == AVA_STATUS_OK && handle != nullptr) {
        call.handle = handle;
        return call;
    }
    call.status = status == AVA_STATUS_OK ? int{AVA_STATUS_INTERNAL} : status;
    call.message = message_of(error, fallback);
    return call;
}

} // namespace

PluginCall call_create(const ava_plugin_descriptor& descriptor, const std::string& config_json)
{
    ava_error error{};
    void* instance = nullptr;
    int status = AVA_STATUS_OK;
    if (knows_parameters(descriptor) && descriptor.create_with_parameters != nullptr) {
        const ParameterValues config(config_json);
        status = descriptor.create_with_parameters(config_json.c_str(), config.abi(), &instance, &error);
    } else {
        status = descriptor.create(config_json.c_str(), &instance, &error);
    }
    return outcome(status, instance, error, "no instance returned");
}

PluginCall call_open_stream(const ava_plugin_descriptor& descriptor, void* instance, const std::string& config_json,
                            const StreamInfo& info)
{
    ava_stream_info abi{};
    abi.struct_size = sizeof abi;
    abi.pipeline_name = info.pipeline_name.c_str();
    abi.node_name = info.node_name.c_str();
    abi.route = info.route.c_str();
    abi.width = info.width;
    abi.height = info.height;
    abi.pixel_format = info.pixel_format;
    abi.timescale = info.timescale;
    abi.parameters_json = info.parameters_json.c_str();
    // Parsed only for plugins that can read it: a 1.0 plugin's requests cost what they did.
    std::unique_ptr<ParameterValues> parameters;
    if (knows_parameters(descriptor)) {
        parameters = std::make_unique<ParameterValues>(config_json, info.parameters_json);
        abi.parameters = parameters->abi();
    }
    ava_error error{};
    void* session = nullptr;
    const int status = descriptor.open_stream(instance, &abi, &session, &error);
    return outcome(status, session, error, "open_stream returned no session");
}

} // namespace ava::loading
