// ParameterSchema on its own: a plugin's schema text is hostile input (refused with what is wrong, never a
// crash), and the one message format the host answers a bad value with.

#include "loading/parameter_schema.h"
#include "loading/parameter_values.h"

#include <gtest/gtest.h>

#include <string>

namespace ava::loading {
namespace {

std::string refusal(const std::string& text)
{
    try {
        ParameterSchema::compile(text);
    } catch (const SchemaError& e) {
        return e.what();
    }
    return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(ParameterSchema, RefusesWhatIsNotASchemaOfAnObject)
{
    EXPECT_TRUE(has(refusal("{\"type\":"), "is not JSON")) << refusal("{\"type\":");
    EXPECT_TRUE(has(refusal("[]"), "must be a JSON object"));
    EXPECT_TRUE(has(refusal("{\"type\":\"nonsense\"}"), "is not a valid JSON Schema (draft-04)"));
    EXPECT_TRUE(has(refusal("{\"properties\":{\"a\":{\"minimum\":\"zero\"}}}"), "is not a valid JSON Schema"));
    EXPECT_TRUE(has(refusal("{\"required\":[]}"), "is not a valid JSON Schema"));
    EXPECT_TRUE(has(refusal("{\"type\":\"string\"}"), "must describe a JSON object"));
    EXPECT_TRUE(has(refusal("{\"properties\":{\"a\":{\"$ref\":\"#\"}}}"), "uses '$ref' at /properties/a"));
    EXPECT_TRUE(has(refusal("{\"properties\":{\"a\":{\"pattern\":\"(a+)+$\"}}}"), "uses 'pattern'"));
    EXPECT_TRUE(has(refusal("{\"description\":\"\xff\"}"), "is not JSON")); // invalid UTF-8
    // RapidJSON compiles every object in the document as a schema, wherever it is: a reference loop or a
    // huge regex under "default", in an "enum" or under an unknown keyword would crash or stall the host.
    EXPECT_TRUE(has(refusal(R"({"type":"object","default":{"$ref":"#/default"}})"), "uses '$ref' at /default"));
    EXPECT_TRUE(has(refusal(R"({"a":{"$ref":"#/b"},"b":{"$ref":"#/a"}})"), "uses '$ref' at /a"));
    EXPECT_TRUE(has(refusal(R"({"type":"object","default":{"pattern":"a{100000000}"}})"), "uses 'pattern' at /default"));
    EXPECT_TRUE(has(refusal(R"({"properties":{"a":{"enum":[{"pattern":"a{99999999}"}]}}})"),
                    "uses 'pattern' at /properties/a/enum/0"));
    EXPECT_TRUE(has(refusal(R"({"x-doc":{"patternProperties":{"a{99999999}":{}}}})"), "uses 'patternProperties' at /x-doc"));
    // RapidJSON reads any patternProperties as an object: a number's bits would be its member count.
    EXPECT_TRUE(has(refusal(R"({"x":{"patternProperties":3333333333333}})"), "uses 'patternProperties' at /x"));
    // uniqueItems costs time quadratic in a client's array.
    EXPECT_TRUE(has(refusal(R"({"properties":{"ids":{"type":"array","uniqueItems":true}}})"), "uses 'uniqueItems'"));
    EXPECT_EQ(refusal(R"({"properties":{"ids":{"type":"array","uniqueItems":false}}})"), "");
    // A property may be named like a keyword: only keywords are refused.
    EXPECT_EQ(refusal("{\"properties\":{\"pattern\":{\"type\":\"string\"}}}"), "");
    EXPECT_EQ(refusal(R"({"properties":{"$ref":{"type":"string"},"uniqueItems":{"type":"boolean"}}})"), "");
    EXPECT_EQ(refusal("{}"), "");
}

TEST(ParameterSchema, BoundsSizeAndDepth)
{
    const std::string big = "{\"description\":\"" + std::string(max_schema_bytes, 'x') + "\"}";
    EXPECT_TRUE(has(refusal(big), "longer than the 65536 bytes allowed")) << refusal(big).substr(0, 200);
    std::string deep = "{\"not\":";
    for (int i = 0; i < 5000; ++i) {
        deep += "{\"not\":";
    }
    deep += "{}" + std::string(5001, '}');
    EXPECT_TRUE(has(refusal(deep), "nests deeper than 32 levels")) << refusal(deep).substr(0, 200);
    EXPECT_EQ(ParameterSchema::compile_declared(nullptr), nullptr);
}

TEST(ParameterSchema, SaysWhatIsWrongWithAValue)
{
    const auto schema = ParameterSchema::compile(R"({"type":"object","additionalProperties":false,"required":["mode"],
        "properties":{"threshold":{"type":"number","minimum":0,"maximum":255},"mode":{"enum":["fast","exact"]},
                      "name":{"type":"string","maxLength":3},"on":{"type":"boolean"}}})");
    EXPECT_EQ(schema->violation(R"({"mode":"fast","threshold":12})"), "");
    EXPECT_EQ(schema->violation(R"({"mode":"fast","threshold":"abc"})"),
              R"(parameter 'threshold': must be a number between 0 and 255 (got "abc"))");
    EXPECT_EQ(schema->violation(R"({"mode":"slow"})"), R"(parameter 'mode': must be one of "fast", "exact" (got "slow"))");
    EXPECT_EQ(schema->violation(R"({"mode":"fast","name":"long"})"),
              R"(parameter 'name': must be a string of at most 3 characters (got "long"))");
    EXPECT_EQ(schema->violation(R"({"mode":"fast","on":1})"), "parameter 'on': must be true or false (got 1)");
    EXPECT_EQ(schema->violation(R"({})"), "parameter 'mode': is required");
    EXPECT_EQ(schema->violation(R"({"mode":"fast","treshold":1})"),
              "unknown parameter 'treshold' (known: threshold, mode, name, on)");
    EXPECT_EQ(schema->violation("[1]"), "parameters must be a JSON object");
    // Validation recurses: a value nested without bound is refused before it.
    const std::string deep = R"({"mode":"fast","x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
    EXPECT_EQ(schema->violation(deep), "parameters nest deeper than 64 levels");
}

// What comes back to a client is short: its own names are cut, and so are a plugin's long lists.
TEST(ParameterSchema, QuotesNamesAndListsCutShort)
{
    std::string properties;
    std::string choices;
    for (int i = 0; i < 200; ++i) {
        properties += (i == 0 ? "" : ",") + std::string("\"name_") + std::to_string(i) + "\":{\"type\":\"boolean\"}";
        choices += (i == 0 ? "" : ",") + std::string("\"choice_") + std::to_string(i) + "\"";
    }
    const auto schema = ParameterSchema::compile(R"({"type":"object","additionalProperties":false,"properties":{)" +
                                                 properties + R"(,"pick":{"enum":[)" + choices + "]}}}");
    const auto unknown = schema->violation(R"({")" + std::string(100000, 'x') + R"(":1})");
    EXPECT_LT(unknown.size(), 1000U) << unknown.size();
    EXPECT_NE(unknown.find("(100000 bytes)"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("known: name_0, name_1,"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find(", ...)"), std::string::npos) << unknown;
    const auto outside = schema->violation(R"({"pick":"none"})");
    EXPECT_LT(outside.size(), 600U) << outside;
    EXPECT_TRUE(outside.starts_with("parameter 'pick': must be one of \"choice_0\", ")) << outside;
}

TEST(ParameterValues, LayersStreamOverConfigurationWithTypedGetters)
{
    const ParameterValues values(R"({"a":1,"b":"config","c":true})", R"({"a":2.5,"d":-7,"e":"x\u0000y"})");
    const auto* p = values.abi();
    double number = 0;
    std::int64_t integer = 0;
    int flag = 0;
    const char* text = nullptr;
    size_t size = 0;
    EXPECT_EQ(p->get_number(p, "a", &number), AVA_PARAMETER_OK);
    EXPECT_EQ(number, 2.5);
    EXPECT_EQ(p->get_integer(p, "a", &integer), AVA_PARAMETER_WRONG_TYPE);
    EXPECT_EQ(p->get_integer(p, "d", &integer), AVA_PARAMETER_OK);
    EXPECT_EQ(integer, -7);
    EXPECT_EQ(p->get_string(p, "b", &text, &size), AVA_PARAMETER_OK);
    EXPECT_EQ(std::string(text, size), "config");
    EXPECT_EQ(p->get_string(p, "e", &text, &size), AVA_PARAMETER_OK);
    EXPECT_EQ(std::string(text, size), std::string("x\0y", 3));
    EXPECT_EQ(p->get_bool(p, "c", &flag), AVA_PARAMETER_OK);
    EXPECT_EQ(flag, 1);
    EXPECT_EQ(p->get_bool(p, "missing", &flag), AVA_PARAMETER_NOT_FOUND);
    EXPECT_EQ(p->get_bool(p, nullptr, &flag), AVA_PARAMETER_INVALID_ARGUMENT);
    EXPECT_EQ(p->get_bool(p, "c", nullptr), AVA_PARAMETER_INVALID_ARGUMENT);
    EXPECT_EQ(p->get_string(p, "a", &text, nullptr), AVA_PARAMETER_WRONG_TYPE);
}

} // namespace
} // namespace ava::loading
