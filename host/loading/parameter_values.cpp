#include "parameter_values.h"

#include <cstdint>


namespace ava::loading {
namespace {

rapidjson::Document object_of(std::string_view json)
{
    rapidjson::Document document;
    document.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
    if (document.HasParseError() || !document.IsObject()) {
        document.SetObject();
    }
    return document;
}

// Looks `name` up for a getter; nullptr with `status` set when there is nothing to read.
const rapidjson::Value* lookup(const ava_parameters* parameters, const char* name, const void* out,
                               ava_parameter_status& status)
{
    if (parameters == nullptr || parameters->context == nullptr || name == nullptr || out == nullptr) {
        status = AVA_PARAMETER_INVALID_ARGUMENT;
        return nullptr;
    }
    const auto* value = static_cast<const ParameterValues*>(parameters->context)->find(name);
    status = value != nullptr ? AVA_PARAMETER_OK : AVA_PARAMETER_NOT_FOUND;
    return value;
}

ava_parameter_status get_number(const ava_parameters* parameters, const char* name, double* out)
{
    ava_parameter_status status{};
    const auto* value = lookup(parameters, name, out, status);
    if (value == nullptr) {
        return status;
    }
    if (!value->IsNumber()) {
        return AVA_PARAMETER_WRONG_TYPE;
    }
    *out = value->GetDouble();
    return AVA_PARAMETER_OK;
}

ava_parameter_status get_integer(const ava_parameters* parameters, const char* name, std::int64_t* out)
{
    ava_parameter_status status{};
    const auto* value = lookup(parameters, name, out, status);
    if (value == nullptr) {
        return status;
    }
    if (!value->IsInt64()) { // what JSON Schema's "integer" accepts here too: no fraction, no exponent
        return AVA_PARAMETER_WRONG_TYPE;
    }
    *out = value->GetInt64();
    return AVA_PARAMETER_OK;
}

ava_parameter_status get_bool(const ava_parameters* parameters, const char* name, int* out)
{
    ava_parameter_status status{};
    const auto* value = lookup(parameters, name, out, status);
    if (value == nullptr) {
        return status;
    }
    if (!value->IsBool()) {
        return AVA_PARAMETER_WRONG_TYPE;
    }
    *out = value->GetBool() ? 1 : 0;
    return AVA_PARAMETER_OK;
}

ava_parameter_status get_string(const ava_parameters* parameters, const char* name, const char** out,
                                size_t* size)
{
    ava_parameter_status status{};
    const auto* value = lookup(parameters, name, out, status);
    if (value == nullptr) {
        return status;
    }
    if (!value->IsString()) {
        return AVA_PARAMETER_WRONG_TYPE;
    }
    *out = value->GetString();
    if (size != nullptr) {
        *size = value->GetStringLength();
    }
    return AVA_PARAMETER_OK;
}

} // namespace

ParameterValues::ParameterValues(std::string_view config_json, std::string_view stream_json)
    : config_(object_of(config_json)), stream_(object_of(stream_json))
{
    abi_.struct_size = sizeof abi_;
    abi_.context = this;
    abi_.get_number = &get_number;
    abi_.get_integer = &get_integer;
    abi_.get_bool = &get_bool;
    abi_.get_string = &get_string;
}

const rapidjson::Value* ParameterValues::find(const char* name) const
{
    for (const auto* layer : {&stream_, &config_}) {
        if (const auto it = layer->FindMember(name); it != layer->MemberEnd()) {
            return &it->value;
        }
    }
    return nullptr;
}

} // namespace ava::loading
