// ava_plugin_params.hpp — optional helper for reading a plugin's JSON parameters (needs RapidJSON headers).
//
// The host passes an instance configuration (create) and per-stream parameters (open_stream) as JSON
// objects. Parameters layers them (stream values override the configuration), checks types and ranges and
// rejects unknown names, throwing ava::plugin::Error(AVA_STATUS_INVALID_ARGUMENT, "<what was wrong>").
// HTTP query values arrive as JSON numbers/booleans when they parse as such, else strings.
#ifndef AVA_PLUGIN_PARAMS_HPP
#define AVA_PLUGIN_PARAMS_HPP

#include "ava_plugin_cpp.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace ava::plugin {

class Parameters {
public:
    Parameters() { document_.SetObject(); }
    Parameters(const Parameters& other) { document_.CopyFrom(other.document_, document_.GetAllocator()); }
    Parameters& operator=(const Parameters& other)
    {
        if (this != &other) {
            document_.CopyFrom(other.document_, document_.GetAllocator());
        }
        return *this;
    }
    ~Parameters() = default;

    // Parses a JSON object; layers it over the values already held.
    void merge(std::string_view json)
    {
        rapidjson::Document incoming;
        incoming.Parse(json.data(), json.size());
        if (incoming.HasParseError()) {
            throw Error(AVA_STATUS_INVALID_ARGUMENT,
                        std::string("parameters are not valid JSON: ") + rapidjson::GetParseError_En(incoming.GetParseError()));
        }
        if (!incoming.IsObject()) {
            throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameters must be a JSON object");
        }
        for (auto& member : incoming.GetObject()) {
            rapidjson::Value key(member.name, document_.GetAllocator());
            rapidjson::Value value(member.value, document_.GetAllocator());
            document_.RemoveMember(key);
            document_.AddMember(key, value, document_.GetAllocator());
        }
    }

    // Throws when a parameter not in `known` is present (catches typos such as "treshold").
    void reject_unknown(std::initializer_list<std::string_view> known) const
    {
        for (const auto& member : document_.GetObject()) {
            const std::string_view name(member.name.GetString(), member.name.GetStringLength());
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                std::string list;
                for (auto k : known) {
                    list += (list.empty() ? "" : ", ") + std::string(k);
                }
                throw Error(AVA_STATUS_INVALID_ARGUMENT,
                            "unknown parameter '" + std::string(name) + "' (known: " + list + ")");
            }
        }
    }

    double number(const char* name, double fallback, double min, double max) const
    {
        const auto it = document_.FindMember(name);
        if (it == document_.MemberEnd()) {
            return fallback;
        }
        if (!it->value.IsNumber() || it->value.GetDouble() < min || it->value.GetDouble() > max) {
            throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameter '" + std::string(name) + "' must be a number from " +
                                                         trim(min) + " to " + trim(max));
        }
        return it->value.GetDouble();
    }

    int integer(const char* name, int fallback, int min, int max) const
    {
        const double value = number(name, fallback, min, max);
        if (value != static_cast<double>(static_cast<int>(value))) {
            throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameter '" + std::string(name) + "' must be an integer");
        }
        return static_cast<int>(value);
    }

    bool boolean(const char* name, bool fallback) const
    {
        const auto it = document_.FindMember(name);
        if (it == document_.MemberEnd()) {
            return fallback;
        }
        if (!it->value.IsBool()) {
            throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameter '" + std::string(name) + "' must be true or false");
        }
        return it->value.GetBool();
    }

    std::string choice(const char* name, const char* fallback, std::initializer_list<std::string_view> allowed) const
    {
        const auto it = document_.FindMember(name);
        if (it == document_.MemberEnd()) {
            return fallback;
        }
        const std::string_view value = it->value.IsString()
                                           ? std::string_view(it->value.GetString(), it->value.GetStringLength())
                                           : std::string_view();
        if (std::find(allowed.begin(), allowed.end(), value) == allowed.end() || !it->value.IsString()) {
            std::string list;
            for (auto a : allowed) {
                list += (list.empty() ? "" : ", ") + std::string(a);
            }
            throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameter '" + std::string(name) + "' must be one of: " + list);
        }
        return std::string(value);
    }

    std::string string(const char* name, const char* fallback) const
    {
        const auto it = document_.FindMember(name);
        if (it == document_.MemberEnd()) {
            return fallback;
        }
        if (!it->value.IsString()) {
            throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameter '" + std::string(name) + "' must be a string");
        }
        return it->value.GetString();
    }

private:
    static std::string trim(double v)
    {
        std::string s = std::to_string(v);
        s.erase(s.find_last_not_of('0') + 1);
        if (!s.empty() && s.back() == '.') {
            s.pop_back();
        }
        return s;
    }
    rapidjson::Document document_;
};

} // namespace ava::plugin

#endif // AVA_PLUGIN_PARAMS_HPP
