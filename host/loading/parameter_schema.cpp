#include "parameter_schema.h"

#include "security/client_text.h"

#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace ava::loading {

namespace {

// Compiled schemas allocate from a memory pool the schema document owns and frees whole: RapidJSON 1.1.0's
// schema objects leak property names they copy with the default allocator (each load of a plugin with a
// schema would leak a few bytes).
using SchemaDocument = rapidjson::GenericSchemaDocument<rapidjson::Value, rapidjson::MemoryPoolAllocator<>>;
using SchemaValidator = rapidjson::GenericSchemaValidator<SchemaDocument>;

} // namespace

struct ParameterSchema::Compiled {
    explicit Compiled(const rapidjson::Document& document) : schema(document) {}
    SchemaDocument schema;
};

namespace {

// JSON Schema draft-04's meta-schema (what RapidJSON implements), without "id"/"$schema": nothing is fetched.
constexpr const char* draft04_meta_schema = R"({
  "definitions": {
    "schemaArray": {"type": "array", "minItems": 1, "items": {"$ref": "#"}},
    "positiveInteger": {"type": "integer", "minimum": 0},
    "simpleTypes": {"enum": ["array", "boolean", "integer", "null", "number", "object", "string"]},
    "stringArray": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": true}
  },
  "type": "object",
  "properties": {
    "id": {"type": "string"}, "$schema": {"type": "string"},
    "title": {"type": "string"}, "description": {"type": "string"}, "default": {},
    "multipleOf": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
    "maximum": {"type": "number"}, "exclusiveMaximum": {"type": "boolean"},
    "minimum": {"type": "number"}, "exclusiveMinimum": {"type": "boolean"},
    "maxLength": {"$ref": "#/definitions/positiveInteger"}, "minLength": {"$ref": "#/definitions/positiveInteger"},
    "pattern": {"type": "string"},
    "additionalItems": {"anyOf": [{"type": "boolean"}, {"$ref": "#"}]},
    "items": {"anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/schemaArray"}]},
    "maxItems": {"$ref": "#/definitions/positiveInteger"}, "minItems": {"$ref": "#/definitions/positiveInteger"},
    "uniqueItems": {"type": "boolean"},
    "maxProperties": {"$ref": "#/definitions/positiveInteger"},
    "minProperties": {"$ref": "#/definitions/positiveInteger"},
    "required": {"$ref": "#/definitions/stringArray"},
    "additionalProperties": {"anyOf": [{"type": "boolean"}, {"$ref": "#"}]},
    "definitions": {"type": "object", "additionalProperties": {"$ref": "#"}},
    "properties": {"type": "object", "additionalProperties": {"$ref": "#"}},
    "patternProperties": {"type": "object", "additionalProperties": {"$ref": "#"}},
    "dependencies": {"type": "object",
                     "additionalProperties": {"anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/stringArray"}]}},
    "enum": {"type": "array", "minItems": 1, "uniqueItems": true},
    "type": {"anyOf": [{"$ref": "#/definitions/simpleTypes"},
                       {"type": "array", "items": {"$ref": "#/definitions/simpleTypes"}, "minItems": 1,
                        "uniqueItems": true}]},
    "format": {"type": "string"},
    "allOf": {"$ref": "#/definitions/schemaArray"},
    "anyOf": {"$ref": "#/definitions/schemaArray"},
    "oneOf": {"$ref": "#/definitions/schemaArray"},
    "not": {"$ref": "#"}
  },
  "dependencies": {"exclusiveMaximum": ["maximum"], "exclusiveMinimum": ["minimum"]}
})";

// Compiled once, never changed: validators only read it, from any thread.
const SchemaDocument& meta_schema()
{
    static const rapidjson::Document document = [] {
        rapidjson::Document parsed;
        parsed.Parse(draft04_meta_schema);
        return parsed;
    }();
    static const SchemaDocument schema(document);
    return schema;
}

std::string json_text(const rapidjson::Value& value, std::size_t limit = 80)
{
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    value.Accept(writer);
    std::string text(buffer.GetString(), buffer.GetSize());
    if (text.size() > limit) {
        text.resize(limit);
        text += "...";
    }
    return text;
}

template <typename Pointer> // RapidJSON pointers differ in allocator type only
std::string pointer_text(const Pointer& pointer)
{
    rapidjson::StringBuffer buffer;
    pointer.Stringify(buffer);
    return buffer.GetSize() == 0 ? "the top level" : buffer.GetString();
}

// How deep `root` nests, counting up to just past `limit` (iteratively: the text may be hostile).
int depth_of(const rapidjson::Value& root, int limit)
{
    int deepest = 0;
    std::vector<std::pair<const rapidjson::Value*, int>> pending{{&root, 1}};
    while (!pending.empty()) {
        const auto [value, depth] = pending.back();
        pending.pop_back();
        deepest = std::max(deepest, depth);
        if (depth > limit) {
            break;
        }
        if (value->IsObject()) {
            for (const auto& member : value->GetObject()) {
                pending.emplace_back(&member.value, depth + 1);
            }
        } else if (value->IsArray()) {
            for (const auto& item : value->GetArray()) {
                pending.emplace_back(&item, depth + 1);
            }
        }
    }
    return deepest;
}

// Walks the whole document (its depth is bounded already) for keywords a parameter schema may not use.
// RapidJSON 1.1 compiles every object in a schema document as a subschema, wherever it sits (under
// "default", inside an "enum", under an unknown keyword), so a keyword is refused wherever it appears:
//   "$ref" (a string): followed recursively with no cycle check, so a loop overflows the stack;
//   "pattern" (a string), "patternProperties": compiled by RapidJSON's regex engine, which unrolls a repeat
//       count of up to 2^32 (minutes and gigabytes for "a{100000000}"); and RapidJSON reads any
//       "patternProperties" as an object, whatever it is (a number's bits became a 7 GB member count);
//   "uniqueItems" (true): checked in time quadratic in the length of a client's array.
// A property merely named so (its value a schema object) is only caught for patternProperties.
bool unsupported(const char* keyword, const rapidjson::Value& value)
{
    if (std::strcmp(keyword, "patternProperties") == 0) {
        return true;
    }
    if (std::strcmp(keyword, "uniqueItems") == 0) {
        return value.IsTrue();
    }
    return value.IsString();
}

void refuse_unsupported(const rapidjson::Value& value, const std::string& where)
{
    if (value.IsArray()) {
        for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
            refuse_unsupported(value[i], where + "/" + std::to_string(i));
        }
        return;
    }
    if (!value.IsObject()) {
        return;
    }
    for (const char* keyword : {"$ref", "pattern", "patternProperties", "uniqueItems"}) {
        if (const auto it = value.FindMember(keyword); it != value.MemberEnd() && unsupported(keyword, it->value)) {
            throw SchemaError(std::string("uses '") + keyword + "' at " +
                              (where.empty() ? std::string("the top level") : security::client_text(where)) +
                              ", which parameter schemas may not (use \"enum\", or check the value in the plugin)");
        }
    }
    for (const auto& member : value.GetObject()) {
        refuse_unsupported(member.value, where + "/" + std::string(member.name.GetString(), member.name.GetStringLength()));
    }
}

bool allows_object(const rapidjson::Value& schema)
{
    const auto type = schema.FindMember("type");
    if (type == schema.MemberEnd()) {
        return true;
    }
    if (type->value.IsString()) {
        return std::strcmp(type->value.GetString(), "object") == 0;
    }
    for (const auto& item : type->value.GetArray()) {
        if (std::strcmp(item.GetString(), "object") == 0) {
            return true;
        }
    }
    return false;
}

const rapidjson::Value* member(const rapidjson::Value& object, const char* name)
{
    if (!object.IsObject()) {
        return nullptr;
    }
    const auto it = object.FindMember(name);
    return it != object.MemberEnd() ? &it->value : nullptr;
}

// A list from the plugin's schema, for a message: a long enum or a hundred properties are cut, not echoed
// into every refusal whole.
std::string cut_list(std::string list)
{
    constexpr std::size_t longest = 400;
    if (list.size() > longest) {
        list.resize(longest);
        list += ", ...";
    }
    return list;
}

// "must be a number between 0 and 255", from the keywords of the schema a value failed.
std::string expectation(const rapidjson::Value& schema, const char* keyword)
{
    if (const auto* values = member(schema, "enum"); values != nullptr && values->IsArray()) {
        std::string list;
        for (const auto& value : values->GetArray()) {
            list += (list.empty() ? "" : ", ") + json_text(value, 40);
        }
        return "must be one of " + cut_list(std::move(list));
    }
    const auto* type = member(schema, "type");
    const std::string kind = type != nullptr && type->IsString() ? type->GetString() : "";
    const auto* minimum = member(schema, "minimum");
    const auto* maximum = member(schema, "maximum");
    if (kind == "number" || kind == "integer") {
        std::string text = kind == "number" ? "must be a number" : "must be an integer";
        if (minimum != nullptr && maximum != nullptr) {
            text += " between " + json_text(*minimum) + " and " + json_text(*maximum);
        } else if (minimum != nullptr) {
            text += " of at least " + json_text(*minimum);
        } else if (maximum != nullptr) {
            text += " of at most " + json_text(*maximum);
        }
        const auto* above = member(schema, "exclusiveMinimum");
        const auto* below = member(schema, "exclusiveMaximum");
        if ((above != nullptr && above->IsTrue()) || (below != nullptr && below->IsTrue())) {
            text += " (bounds excluded)";
        }
        if (const auto* step = member(schema, "multipleOf"); step != nullptr) {
            text += ", a multiple of " + json_text(*step);
        }
        return text;
    }
    if (kind == "boolean") {
        return "must be true or false";
    }
    if (kind == "string") {
        const auto* shortest = member(schema, "minLength");
        const auto* longest = member(schema, "maxLength");
        std::string text = "must be a string";
        if (shortest != nullptr && longest != nullptr) {
            text += " of " + json_text(*shortest) + " to " + json_text(*longest) + " characters";
        } else if (shortest != nullptr) {
            text += " of at least " + json_text(*shortest) + " characters";
        } else if (longest != nullptr) {
            text += " of at most " + json_text(*longest) + " characters";
        }
        return text;
    }
    if (!kind.empty()) {
        return std::string("must be ") + (kind == "array" || kind == "object" ? "an " : "a ") + kind;
    }
    return std::string("does not satisfy the schema's '") + keyword + "'";
}

std::string known_names(const rapidjson::Value& schema)
{
    std::string list;
    if (const auto* properties = member(schema, "properties"); properties != nullptr && properties->IsObject()) {
        for (const auto& property : properties->GetObject()) {
            list += (list.empty() ? "" : ", ") + std::string(property.name.GetString());
        }
    }
    return list.empty() ? "none" : cut_list(std::move(list));
}

// "a.b" for /a/b; the first `count` tokens only, when given.
template <typename Pointer>
std::string name_of(const Pointer& pointer, std::size_t count = SIZE_MAX)
{
    std::string name;
    for (std::size_t i = 0; i < std::min(count, pointer.GetTokenCount()); ++i) {
        name += (i == 0 ? "" : ".") + std::string(pointer.GetTokens()[i].name, pointer.GetTokens()[i].length);
    }
    return security::client_text(name); // the client's names: a 1 MB one must not come back whole
}

} // namespace

rapidjson::Document parse_object(std::string_view json, const char* what)
{
    rapidjson::Document document;
    document.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
    if (document.HasParseError()) {
        throw SchemaError(std::string(what) + " is not JSON: " + rapidjson::GetParseError_En(document.GetParseError()) +
                          " (at byte " + std::to_string(document.GetErrorOffset()) + ")");
    }
    if (!document.IsObject()) {
        throw SchemaError(std::string(what) + " must be a JSON object");
    }
    return document;
}

ParameterSchema::ParameterSchema(Key /*unused*/) {}
ParameterSchema::~ParameterSchema() = default;

std::shared_ptr<const ParameterSchema> ParameterSchema::compile_declared(const char* text)
{
    if (text == nullptr) {
        return nullptr;
    }
    return compile(std::string_view(text, strnlen(text, max_schema_bytes + 1)));
}

std::shared_ptr<const ParameterSchema> ParameterSchema::compile(std::string_view text)
{
    if (text.size() > max_schema_bytes) {
        throw SchemaError("is longer than the " + std::to_string(max_schema_bytes) + " bytes allowed");
    }
    auto schema = std::make_shared<ParameterSchema>(Key{});
    schema->text_ = std::string(text);
    schema->document_ = parse_object(text, "the schema");
    if (depth_of(schema->document_, max_schema_depth) > max_schema_depth) {
        throw SchemaError("nests deeper than " + std::to_string(max_schema_depth) + " levels");
    }
    refuse_unsupported(schema->document_, "");
    SchemaValidator validator(meta_schema());
    if (!schema->document_.Accept(validator)) {
        const char* keyword = validator.GetInvalidSchemaKeyword(); // null when RapidJSON cannot say
        throw SchemaError("is not a valid JSON Schema (draft-04): '" + std::string(keyword != nullptr ? keyword : "?") +
                          "' fails at " +
                          pointer_text(validator.GetInvalidDocumentPointer()));
    }
    if (!allows_object(schema->document_)) {
        throw SchemaError("must describe a JSON object (its \"type\" is not \"object\")");
    }
    schema->compiled_ = std::make_unique<Compiled>(schema->document_);
    return schema;
}

std::string ParameterSchema::violation(std::string_view parameters_json) const
{
    try {
        return violation(parse_object(parameters_json, "parameters"));
    } catch (const SchemaError& e) {
        return e.what();
    }
}

std::string ParameterSchema::violation(const rapidjson::Value& parameters) const
{
    // Validation recurses as deep as the value nests: bound it first (a gRPC client writes these).
    if (depth_of(parameters, max_parameters_depth) > max_parameters_depth) {
        return "parameters nest deeper than " + std::to_string(max_parameters_depth) + " levels";
    }
    SchemaValidator validator(compiled_->schema);
    if (parameters.Accept(validator)) {
        return "";
    }
    const char* keyword = validator.GetInvalidSchemaKeyword();
    if (keyword == nullptr) {
        keyword = "?"; // RapidJSON returns null when its schema stack is empty
    }
    const auto* failed = validator.GetInvalidSchemaPointer().Get(document_);
    const auto& where = validator.GetInvalidDocumentPointer();
    const auto* value = where.Get(parameters);
    const rapidjson::Value empty(rapidjson::kObjectType);
    const auto& schema = failed != nullptr ? *failed : empty;
    const std::string prefix = where.GetTokenCount() == 0 ? "" : "parameter '" + name_of(where) + "': ";
    if (std::strcmp(keyword, "additionalProperties") == 0 && where.GetTokenCount() != 0) {
        // RapidJSON points at the name it did not expect.
        const auto tokens = where.GetTokenCount();
        const auto& unknown = where.GetTokens()[tokens - 1];
        return (tokens > 1 ? "parameter '" + name_of(where, tokens - 1) + "': " : std::string()) + "unknown parameter '" +
               security::client_text(std::string_view(unknown.name, unknown.length)) + "' (known: " + known_names(schema) + ")";
    }

    if (value != nullptr && value->IsObject() &&
        (std::strcmp(keyword, "required") == 0 || std::strcmp(keyword, "additionalProperties") == 0)) {
        const auto* properties = member(schema, "properties");
        if (const auto* required = member(schema, "required");
            required != nullptr && required->IsArray() && std::strcmp(keyword, "required") == 0) {
            for (const auto& name : required->GetArray()) {
                if (!value->HasMember(name)) {
                    return prefix + "parameter '" + security::client_text(name.GetString()) + "': is required";
                }
            }
        }
        for (const auto& given : value->GetObject()) {
            if (properties == nullptr || !properties->IsObject() || !properties->HasMember(given.name)) {
                return prefix + "unknown parameter '" +
                       security::client_text(std::string_view(given.name.GetString(), given.name.GetStringLength())) +
                       "' (known: " + known_names(schema) + ")";
            }
        }
    }
    if (where.GetTokenCount() == 0) {
        return std::string("parameters ") + expectation(schema, keyword);
    }
    return prefix + expectation(schema, keyword) + (value != nullptr ? " (got " + json_text(*value) + ")" : "");
}

} // namespace ava::loading
