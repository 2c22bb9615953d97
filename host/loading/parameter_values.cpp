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

// One getter: finds `name` (stream first), then `read` converts it into *out or says it is of another type.
template <typename Out, typename Read>
ava_parameter_status get(const ava_parameters* parameters, const char* name, Out* out, Read read)
{
    if (parameters == nullptr || parameters->context == nullptr || name == nullptr || out == nullptr) {
        return AVA_PARAMETER_INVALID_ARGUMENT;
    }
    const auto* value = static_cast<const ParameterValues*>(parameters->context)->find(name);
    if (value == nullptr) {
        return AVA_PARAMETER_NOT_FOUND;
    }
    return read(*value, *out) ? AVA_PARAMETER_OK : AVA_PARAMETER_WRONG_TYPE;
}

ava_parameter_status get_number(const ava_parameters* parameters, const char* name, double* out)
{
    return get(parameters, name, out, [](const rapidjson::Value& value, double& number) {
        return value.IsNumber() && (number = value.GetDouble(), true);
    });
}

ava_parameter_status get_integer(const ava_parameters* parameters, const char* name, std::int64_t* out)
{
    // What JSON Schema's "integer" accepts here too: no fraction, no exponent.
    return get(parameters, name, out, [](const rapidjson::Value& value, std::int64_t& integer) {
        return value.IsInt64() && (integer = value.GetInt64(), true);
    });
}

ava_parameter_status get_bool(const ava_parameters* parameters, const char* name, int* out)
{
    return get(parameters, name, out, [](const rapidjson::Value& value, int& flag) {
        return value.IsBool() && (flag = value.GetBool() ? 1 : 0, true);
    });
}

ava_parameter_status get_string(const ava_parameters* parameters, const char* name, const char** out,
                                size_t* size)
{
    return get(parameters, name, out, [size](const rapidjson::Value& value, const char*& text) {
        if (!value.IsString()) {
            return false;
        }
        text = value.GetString();
        if (size != nullptr) {
            *size = value.GetStringLength();
        }
        return true;
    });
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
