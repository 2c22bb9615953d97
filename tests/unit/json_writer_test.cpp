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
}

} // namespace
} // namespace ava::inferences
