#include "inferences/json_writer.h"

#include <gtest/gtest.h>

namespace ava::inferences {
namespace {

TEST(JsonWriter, WritesTheSchemaShape)
{
    Inference entity;
    entity.subtype = "faceDetection";
    entity.value = Entity{"face", 0.5f, Box{0.25f, 0.5f, 0.125f, 0.25f}, "id-1"};
    entity.attributes.push_back(Attribute{"keypoint0", "0.1,0.2", std::nullopt});
    EXPECT_EQ(to_json({entity}),
              R"({"inferences":[{"type":"entity","entity":{"tag":{"value":"face","confidence":0.5},)"
              R"("box":{"l":0.25,"t":0.5,"w":0.125,"h":0.25},"id":"id-1","attributes":[{"name":"keypoint0",)"
              R"("value":"0.1,0.2"}]},"subtype":"faceDetection"}]})");
}

TEST(JsonWriter, EscapesStringsAndEncodesOtherAsBase64)
{
    Inference other;
    other.value = Other{"application/octet-stream", std::string("\x00\xff", 2)};
    Inference text;
    text.value = Text{"say \"hi\"\n", "", 0, 0};
    EXPECT_EQ(to_json({other, text}),
              R"({"inferences":[{"type":"other","other":{"contentType":"application/octet-stream","contentBytes":"AP8="}},)"
              R"({"type":"text","text":{"value":"say \"hi\"\n"}}]})");
}

TEST(JsonWriter, ErrorBody)
{
    EXPECT_EQ(error_json("BadRequest", "no \"x\""), R"({"error":{"code":"BadRequest","message":"no \"x\""}})");
    // A quoted name cut inside a UTF-8 sequence ("é" is C3 A9): the body is still valid UTF-8.
    EXPECT_EQ(error_json("BadRequest", "unknown parameter 'caf\xC3'"),
              "{\"error\":{\"code\":\"BadRequest\",\"message\":\"unknown parameter 'caf\xEF\xBF\xBD'\"}}");
}

} // namespace
} // namespace ava::inferences

// Issue 10 items 6 and 7: what an analyzer emits through the sink becomes valid UTF-8, and an answer over
// the cap fails the frame instead of becoming a giant body.
#include "inferences/inference_collector.h"
#include "inferences/proto_writer.h"
#include "inferences/utf8.h"

#include <rapidjson/document.h>

#include <cstring>

namespace ava::inferences {
namespace {

TEST(Utf8, ReplacesEachMaximalInvalidSubpart)
{
    const auto repaired = [](std::string s) {
        repair_utf8(s);
        return s;
    };
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(repaired("plain \xF0\x9F\x98\x80 \xC3\xA9"), "plain \xF0\x9F\x98\x80 \xC3\xA9"); // valid: unchanged
    EXPECT_EQ(repaired("a\xFF" "b"), "a" + fffd + "b");
    EXPECT_EQ(repaired("\xE2\x82"), fffd);                     // truncated 3-byte sequence: one
    EXPECT_EQ(repaired("\xE2\x82" "x"), fffd + "x");
    EXPECT_EQ(repaired("\xC0\xAF"), fffd + fffd);              // overlong
    EXPECT_EQ(repaired("\xED\xA0\x80"), fffd + fffd + fffd);  // surrogate
    EXPECT_EQ(repaired("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd); // over U+10FFFF
    EXPECT_EQ(repaired("\x80\x80"), fffd + fffd);             // stray continuation bytes
    std::string s = "\xFE\xFE";
    EXPECT_EQ(repair_utf8(s), 2u);
    EXPECT_TRUE(is_valid_utf8(s));
}

bool valid_json(const std::string& json)
{
    rapidjson::Document document;
    document.Parse<rapidjson::kParseValidateEncodingFlag>(json.c_str(), json.size());
    return !document.HasParseError();
}

TEST(InferenceCollector, RepairsInvalidUtf8InEveryString)
{
    InferenceCollector collector;
    const auto& sink = collector.sink();
    const char* bad = "x\xFF\xC0y";
    ava_key_value kv[1] = {{bad, bad}};
    ava_attribute attribute[1] = {{bad, bad, 0.5f}};
    const char* related[1] = {bad};
    ava_inference_meta meta{};
    meta.struct_size = sizeof meta;
    meta.subtype = bad;
    meta.inference_id = bad;
    meta.related_inferences = related;
    meta.related_count = 1;
    meta.extensions = kv;
    meta.extension_count = 1;
    meta.attributes = attribute;
    meta.attribute_count = 1;
    const ava_box box{0.1f, 0.1f, 0.2f, 0.2f};
    EXPECT_EQ(sink.classification(sink.context, &meta, bad, 0.5f), AVA_STATUS_OK);
    EXPECT_EQ(sink.entity(sink.context, &meta, bad, 0.5f, box, bad), AVA_STATUS_OK);
    EXPECT_EQ(sink.event(sink.context, &meta, bad, kv, 1), AVA_STATUS_OK);
    EXPECT_EQ(sink.text(sink.context, &meta, bad, bad, 1, 2), AVA_STATUS_OK);
    EXPECT_EQ(sink.other(sink.context, &meta, bad, "\xFF", 1), AVA_STATUS_OK);
    EXPECT_GT(collector.utf8_replacements(), 0u);
    const auto inferences = collector.take();
    ASSERT_EQ(inferences.size(), 5u);
    const auto text = std::get<Text>(inferences[3].value);
    EXPECT_EQ(text.value, "x\xEF\xBF\xBD\xEF\xBF\xBDy");
    EXPECT_EQ(std::get<Other>(inferences[4].value).content, "\xFF"); // bytes, not text: kept as they are

    const auto json = to_json(inferences);
    EXPECT_TRUE(valid_json(json)) << json;
    EXPECT_EQ(json.find('\xFF'), std::string::npos);

    proto::Inference message;
    for (const auto& inference : inferences) {
        to_proto(inference, message);
        std::string wire;
        ASSERT_TRUE(message.SerializeToString(&wire));
        proto::Inference parsed;
        EXPECT_TRUE(parsed.ParseFromString(wire)); // proto3 parsers refuse invalid UTF-8 in string fields
    }
}

TEST(InferenceCollector, AnswerOverTheCapFailsTheFrame)
{
    InferenceCollector collector("probe", 1000);
    const auto& sink = collector.sink();
    EXPECT_EQ(sink.classification(sink.context, nullptr, "small", 1.0f), AVA_STATUS_OK);
    const std::string huge(2000, 'a');
    EXPECT_EQ(sink.text(sink.context, nullptr, huge.c_str(), nullptr, 0, 0), AVA_STATUS_OUT_OF_MEMORY);
    EXPECT_TRUE(collector.over_cap());
    EXPECT_NE(collector.last_rejection().find("cap of 1000 bytes"), std::string::npos) << collector.last_rejection();
    // Everything after is refused too, and the answer cannot be taken.
    EXPECT_EQ(sink.classification(sink.context, nullptr, "small", 1.0f), AVA_STATUS_OUT_OF_MEMORY);
    try {
        collector.take();
        ADD_FAILURE() << "an answer over the cap was taken";
    } catch (const AnswerTooLarge& e) {
        EXPECT_NE(std::string(e.what()).find("probe: answer too large"), std::string::npos) << e.what();
    }
}

TEST(InferenceCollector, DefaultCapCountsStringsAndInferences)
{
    InferenceCollector strings;
    const std::string big(max_answer_bytes, 'a');
    EXPECT_EQ(strings.sink().other(strings.sink().context, nullptr, "a/b", big.data(), big.size()),
              AVA_STATUS_OUT_OF_MEMORY);
    EXPECT_EQ(strings.answer_bytes(), 0u);

    InferenceCollector many;
    const ava_box box{0.1f, 0.1f, 0.2f, 0.2f};
    std::size_t accepted = 0;
    while (many.sink().motion(many.sink().context, nullptr, box) == AVA_STATUS_OK) {
        ++accepted;
    }
    EXPECT_EQ(accepted, max_answer_bytes / per_inference_bytes);
    EXPECT_THROW(many.take(), AnswerTooLarge);
}

TEST(InferenceCollector, RefusedEmitsAreNotCounted)
{
    InferenceCollector collector("probe", 1000);
    const auto& sink = collector.sink();
    ava_inference_meta blank{};
    blank.struct_size = sizeof blank;
    blank.subtype = "  ";
    EXPECT_EQ(sink.classification(sink.context, &blank, "x", 1.0f), AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(collector.answer_bytes(), 0u);
    EXPECT_FALSE(collector.over_cap());
    EXPECT_EQ(collector.take().size(), 0u);
}

// A tag without a confidence (< 0 in the ABI) goes out as 1.0: Intel's HTTP client crashes on a
// classification without one, and proto3 would say 0.
TEST(InferenceCollector, TagsWithoutConfidenceAreSentAsCertain)
{
    InferenceCollector collector;
    const auto& sink = collector.sink();
    ASSERT_EQ(sink.classification(sink.context, nullptr, "normal", -1.0f), AVA_STATUS_OK);
    const ava_box box{0.1f, 0.1f, 0.2f, 0.2f};
    ASSERT_EQ(sink.entity(sink.context, nullptr, "person", -1.0f, box, nullptr), AVA_STATUS_OK);
    const auto json = to_json(collector.take());
    EXPECT_NE(json.find(R"({"value":"normal","confidence":1.0})"), std::string::npos) << json;
    EXPECT_NE(json.find(R"({"value":"person","confidence":1.0})"), std::string::npos) << json;
}

} // namespace
} // namespace ava::inferences
