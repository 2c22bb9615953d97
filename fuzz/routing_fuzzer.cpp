// Fuzz target: extension_configuration and route parsing (host/routing/router.h): resolve_grpc() with
// fuzzed extension_configuration (empty, bare name, or a JSON object {"analyzer":..,"parameters":{..}}) and
// live pipeline; resolve_http() with fuzzed path, query and pipeline; query_value(), query_to_json() and
// merge_json_objects(). Input: fields separated by '\0':
//   extension_configuration \0 pipeline \0 target (path?query) \0 json_a \0 json_b
// Checks: only RouteError leaves the router, and every parameters_json it hands out is one JSON object.
#include "common/fuzz_env.h"

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

void check_object(const std::string& json)
{
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());
    AVA_FUZZ_CHECK(!doc.HasParseError() && doc.IsObject(), "parameters are not one JSON object: " + json);
}

void check_target(const ava::routing::RouteTarget& target)
{
    AVA_FUZZ_CHECK(target.analyzer != nullptr, "a route without an analyzer");
    check_object(target.parameters_json);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto& env = ava::fuzz::environment();
    std::vector<std::string_view> fields;
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    while (fields.size() < 4) {
        const auto zero = rest.find('\0');
        fields.push_back(rest.substr(0, zero));
        rest = zero == std::string_view::npos ? std::string_view() : rest.substr(zero + 1);
    }
    fields.push_back(rest);
    const auto configuration = fields[0], pipeline = fields[1], target = fields[2];
    const auto question = target.find('?');
    const auto path = target.substr(0, question);
    const auto query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

    using ava::routing::RouteError;
    try {
        check_target(env.router->resolve_grpc(configuration, pipeline));
    } catch (const RouteError&) {
    }
    try {
        check_target(env.router->resolve_grpc(configuration, ""));
    } catch (const RouteError&) {
    }
    try {
        check_target(env.router->resolve_http(path, query, pipeline));
    } catch (const RouteError&) {
    }
    try {
        (void)ava::routing::query_value(query, "pipeline");
        check_object(ava::routing::query_to_json(query));
    } catch (const RouteError&) {
    }
    // merge_json_objects is documented for JSON objects (route parameters, request parameters).
    rapidjson::Document a, b;
    a.Parse(fields[3].data(), fields[3].size());
    b.Parse(fields[4].data(), fields[4].size());
    if (!a.HasParseError() && a.IsObject() && !b.HasParseError() && b.IsObject()) {
        try {
            check_object(ava::routing::merge_json_objects(fields[3], fields[4]));
        } catch (const RouteError&) {
        }
    }
    return 0;
}
