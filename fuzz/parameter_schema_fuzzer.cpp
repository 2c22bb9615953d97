// Fuzz target: a plugin's declared parameter schema (ABI 1.1, host/loading/parameter_schema.h) and the
// parameters the host checks against it. Both sides are hostile: the schema is a plugin's (or, isolated, a
// worker's) text, the parameters a client's query or extension_configuration. Input: schema \0 parameters.
// Checks: compile() accepts or refuses with SchemaError and nothing else; violation() never throws and
// answers within a bounded size; parameters it accepts are one JSON object (what the plugin is promised).
#include "common/fuzz_env.h"

#include "loading/parameter_schema.h"

#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto zero = input.find('\0');
    const auto schema_text = input.substr(0, zero);
    const auto parameters = zero == std::string_view::npos ? std::string_view("{}") : input.substr(zero + 1);

    std::shared_ptr<const ava::loading::ParameterSchema> schema;
    try {
        schema = ava::loading::ParameterSchema::compile(schema_text);
    } catch (const ava::loading::SchemaError& e) {
        AVA_FUZZ_CHECK(std::string_view(e.what()).size() > 0, "a refusal without a reason");
        return 0;
    }
    AVA_FUZZ_CHECK(schema != nullptr, "compile() gave no schema and no refusal");
    const auto verdict = schema->violation(parameters);
    // Names and values are quoted cut short: a reply never echoes a client's megabyte back.
    AVA_FUZZ_CHECK(verdict.size() <= 2048, "a violation message of " + std::to_string(verdict.size()) + " bytes");
    if (verdict.empty()) {
        const auto object = ava::loading::parse_object(parameters, "parameters"); // throws if not an object
        AVA_FUZZ_CHECK(object.IsObject(), "accepted parameters that are not one JSON object");
    }
    return 0;
}
