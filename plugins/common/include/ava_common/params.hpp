// Parameter layering shared by the analyzers: the instance configuration is validated at create, and each
// stream's parameters are layered over it at open_stream, so a bad value is an error at create or open and
// never during process().
#ifndef AVA_COMMON_PARAMS_HPP
#define AVA_COMMON_PARAMS_HPP

#include <ava_plugin_params.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

namespace ava::common {

// The configuration with the stream's parameters layered over it.
inline ava::plugin::Parameters layered(const ava::plugin::Parameters& config, const ava_stream_info& info)
{
    ava::plugin::Parameters params = config;
    params.merge(info.parameters_json != nullptr ? info.parameters_json : "{}");
    return params;
}

// Throws when the stream's own parameters (not the configuration) name one of `names`: for settings only an
// operator may choose, such as a file path, which an HTTP caller must not be able to point anywhere.
inline void reject_per_stream(const ava_stream_info& info, std::initializer_list<std::string_view> names)
{
    rapidjson::Document stream;
    stream.Parse(info.parameters_json != nullptr ? info.parameters_json : "{}");
    if (stream.HasParseError() || !stream.IsObject()) {
        return; // layered() reports malformed JSON with a better message
    }
    for (const auto name : names) {
        const rapidjson::Value key(rapidjson::StringRef(name.data(), name.size()));
        if (stream.HasMember(key)) {
            throw ava::plugin::Error(AVA_STATUS_INVALID_ARGUMENT,
                                     "parameter '" + std::string(name) +
                                         "' may only be set in the analyzer's configuration, not per stream");
        }
    }
}

} // namespace ava::common

#endif
