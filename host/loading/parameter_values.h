#pragma once
// ParameterValues: the typed getters of ABI 1.1 (ava_parameters) over a stream's parameters layered over
// its instance's configuration, so a C plugin reads values without parsing JSON. Built where the plugin
// is called, by the code both isolation modes share (plugin_calls.h), and valid for that one call.

#include <ava_plugin.h>

#include <rapidjson/document.h>

#include <string_view>

namespace ava::loading {

class ParameterValues {
public:
    // Both are JSON objects (the host built or checked them); anything else reads as no parameters.
    explicit ParameterValues(std::string_view config_json, std::string_view stream_json = "{}");
    ParameterValues(const ParameterValues&) = delete; // abi_.context points here
    ParameterValues& operator=(const ParameterValues&) = delete;

    const ava_parameters* abi() const noexcept { return &abi_; }
    // The stream's value, else the configuration's, else nullptr.
    const rapidjson::Value* find(const char* name) const;

private:
    rapidjson::Document config_;
    rapidjson::Document stream_;
    ava_parameters abi_{};
};

} // namespace ava::loading
