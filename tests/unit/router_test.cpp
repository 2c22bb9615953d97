#include "routing/router.h"

#include <gtest/gtest.h>

namespace ava::routing {
namespace {

TEST(QueryToJson, TypesNumbersAndBooleansAndDecodesEscapes)
{
    EXPECT_EQ(query_to_json("threshold=100&mode=fast%20path&on=true&flag&pipeline=x"),
              R"({"threshold":100,"mode":"fast path","on":true,"flag":true})");
    // Integers stay integers (a schema's "integer" takes them); a fraction or an exponent is a double.
    EXPECT_EQ(query_to_json("a=-7&b=0.5&c=1e3&d=99999999999999999999"), R"({"a":-7,"b":0.5,"c":1000.0,"d":100000000000000000000.0})");
    EXPECT_EQ(query_to_json(""), "{}");
    // JSON has no NaN or infinity: such values stay text (a number written there would end the JSON early).
    EXPECT_EQ(query_to_json("a=nan&b=inf&c=-infinity"), R"({"a":"nan","b":"inf","c":"-infinity"})");
    EXPECT_THROW(query_to_json("a=%zz"), RouteError);
    EXPECT_THROW(query_to_json("a=%2"), RouteError);
}

TEST(QueryValue, FindsOneParameter)
{
    EXPECT_EQ(query_value("a=1&pipeline=lobby%201", "pipeline"), "lobby 1");
    EXPECT_FALSE(query_value("a=1", "pipeline").has_value());
}

TEST(MergeJsonObjects, OverlayWins)
{
    EXPECT_EQ(merge_json_objects(R"({"a":1,"b":2})", R"({"b":3,"c":4})"), R"({"a":1,"b":3,"c":4})");
    EXPECT_EQ(merge_json_objects(R"({"a":1})", "{}"), R"({"a":1})");
    EXPECT_THROW(merge_json_objects("{}", "[1]"), RouteError);
    EXPECT_THROW(merge_json_objects("{}", "{bad"), RouteError);
}

// Without loaded analyzers every resolution ends in "not loaded": the error must name what was asked.
TEST(Router, ExplainsWhatIsNotLoaded)
{
    loading::AnalyzerRegistry registry;
    Router router(registry, RouteTable{});
    try {
        router.resolve_grpc(R"({"analyzer":"faces","parameters":{"threshold":0.5}})", "");
        FAIL();
    } catch (const RouteError& e) {
        EXPECT_EQ(e.kind(), RouteError::Kind::not_found);
        EXPECT_NE(std::string(e.what()).find("'faces', which is not loaded (loaded: none)"), std::string::npos) << e.what();
    }
    try {
        router.resolve_http("/nope", "", "");
        FAIL();
    } catch (const RouteError& e) {
        EXPECT_EQ(e.kind(), RouteError::Kind::not_found);
        EXPECT_NE(std::string(e.what()).find("routes: /score"), std::string::npos) << e.what();
    }
}

TEST(Router, RejectsMalformedExtensionConfiguration)
{
    loading::AnalyzerRegistry registry;
    Router router(registry, RouteTable{});
    for (const char* bad : {R"({"analyzer":3})", R"({"parameters":{}})", R"({"analyzer":"a","parameters":[1]})",
                            R"({"analyzer":"a","extra":1})", R"({"analyzer":)"}) {
        try {
            router.resolve_grpc(bad, "");
            FAIL() << bad;
        } catch (const RouteError& e) {
            EXPECT_EQ(e.kind(), RouteError::Kind::bad_request) << bad;
        }
    }
}

// A client-sent document deep enough to overflow a recursive parser is refused by its shape; brackets inside
// strings do not count.
TEST(Router, RefusesDeeplyNestedOrHugeExtensionConfiguration)
{
    loading::AnalyzerRegistry registry;
    Router router(registry, RouteTable{});
    const std::string deep = R"({"analyzer":"a","parameters":{"p":)" + std::string(20000, '[') + std::string(20000, ']') + "}}";
    const std::string huge = R"({"analyzer":"a","parameters":{"p":")" + std::string(100000, 'x') + R"("}})";
    for (const auto& [bad, says] : {std::pair{deep, "nests deeper than 32 levels"}, std::pair{huge, "over the limit"}}) {
        try {
            router.resolve_grpc(bad, "");
            FAIL() << says;
        } catch (const RouteError& e) {
            EXPECT_EQ(e.kind(), RouteError::Kind::bad_request);
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
    }
    try {
        router.resolve_grpc(R"({"analyzer":"a","parameters":{"p":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"{{{"}})", "");
        FAIL();
    } catch (const RouteError& e) {
        EXPECT_EQ(e.kind(), RouteError::Kind::not_found) << e.what(); // well-formed: only the analyzer is missing
    }
}

} // namespace
} // namespace ava::routing
