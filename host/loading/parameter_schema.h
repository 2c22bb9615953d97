#pragma once
// ParameterSchema: a plugin's declared JSON Schema (ABI 1.1) for its configuration or its stream
// parameters, compiled once when the plugin loads, and the host's check of a parameters object against it,
// so every analyzer refuses a bad value with the same message before its code runs.
//
// A schema string comes from plugin code (or, isolated, from a worker): hostile input. It must be JSON of
// at most max_schema_bytes, nested at most max_schema_depth, a valid draft-04 schema (checked against the
// meta-schema) of an object, and use none of "$ref", "pattern", "patternProperties": references could
// loop, and patterns would run std::regex, a backtracking matcher, over client-sent strings.

#include <rapidjson/document.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ava::loading {

inline constexpr std::size_t max_schema_bytes = 64 * 1024;
inline constexpr int max_schema_depth = 32;
inline constexpr int max_parameters_depth = 64; // a value checked against a schema

// Why a schema text is not acceptable; what() says what is wrong, without naming the plugin.
class SchemaError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ParameterSchema {
    struct Key {
        explicit Key() = default;
    };

public:
    explicit ParameterSchema(Key /*only compile() makes one*/); // defined where Compiled is complete
    // Throws SchemaError.
    static std::shared_ptr<const ParameterSchema> compile(std::string_view text);
    // nullptr (none declared) for a null pointer; else compile(text), reading at most max_schema_bytes + 1
    // bytes of a string that may not be terminated where it should be.
    static std::shared_ptr<const ParameterSchema> compile_declared(const char* text);

    ParameterSchema(const ParameterSchema&) = delete;
    ParameterSchema& operator=(const ParameterSchema&) = delete;
    ~ParameterSchema();

    const std::string& text() const noexcept { return text_; }
    const rapidjson::Document& document() const noexcept { return document_; }

    // "" when `parameters` (a JSON object) satisfies the schema; else what is wrong, e.g.
    // "parameter 'threshold': must be a number between 0 and 255 (got \"abc\")".
    std::string violation(const rapidjson::Value& parameters) const;
    std::string violation(std::string_view parameters_json) const;

    struct Compiled; // the RapidJSON schema document (kept out of this header: rapidjson/schema.h is heavy)

private:
    std::string text_;
    rapidjson::Document document_;
    std::unique_ptr<Compiled> compiled_;
};

// Reads `json` as a JSON object, iteratively (a hostile text nests as deep as it likes). Throws SchemaError.
rapidjson::Document parse_object(std::string_view json, const char* what);

} // namespace ava::loading
