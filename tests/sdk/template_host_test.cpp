// The templates as a plugin author deploys them: the plugins sdk_test.sh built out of tree against the
// installed SDK are dropped into a running host's (empty) plugins folder and answer over HTTP and gRPC.
#include "host_process.h"
#include "stream_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace ava::test {
namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string raw_type(int width, int height) { return "image/x-raw; width=" + std::to_string(width) + "; height=" +
                                                      std::to_string(height) + "; format=bgr24"; }

TEST(Templates, DroppedIntoARunningHostTheyAnswerOverHttpAndGrpc)
{
    const std::filesystem::path built = AVA_TEST_SDK_PLUGINS;
    ASSERT_TRUE(std::filesystem::exists(built / "libbrightness.so")) << "run Sdk.TemplatesBuildOutOfTree first";
    const TempDir plugins;
    HostProcess host({}, plugins.path());
    for (const char* lib : {"libbrightness.so", "libbright_spot.so"}) {
        // Copy then rename: the folder watcher must only ever see a complete file.
        std::filesystem::copy_file(built / lib, plugins.path() / (std::string(lib) + ".part"));
        std::filesystem::rename(plugins.path() / (std::string(lib) + ".part"), plugins.path() / lib);
    }
    ASSERT_TRUE(eventually([&] {
        const auto body = http_request(host.http_port(), "GET", "/analyzers").body;
        return has(body, "\"brightness\"") && has(body, "\"bright_spot\"");
    })) << host.log();

    // HTTP: a white frame is bright; a black one has no bright spot (204), a white one has (an entity).
    const auto white = solid_raw_frame(64, 48, 64 * 3, {255, 255, 255});
    const auto black = solid_raw_frame(64, 48, 64 * 3, {0, 0, 0});
    auto reply = http_post(host.http_port(), "/brightness", raw_type(64, 48), white);
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_TRUE(has(reply.body, "\"value\":\"bright\"")) << reply.body;
    EXPECT_EQ(schema_violation(reply.body), "");
    EXPECT_EQ(http_post(host.http_port(), "/bright_spot", raw_type(64, 48), black).status, 204);
    reply = http_post(host.http_port(), "/bright_spot?threshold=250", raw_type(64, 48), white);
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_TRUE(has(reply.body, "\"bright_spot\"")) << reply.body;
    EXPECT_EQ(schema_violation(reply.body), "");
    // A bad parameter is the caller's error, refused by the host against the template's declared schema.
    reply = http_post(host.http_port(), "/bright_spot?threshold=300", raw_type(64, 48), white);
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_TRUE(has(reply.body, "analyzer 'bright_spot': parameter 'threshold': must be a number between 0 and 255 (got 300)"))
        << reply.body;
    // The C template reads its threshold through the host's typed getters: at 0 even black is bright.
    reply = http_post(host.http_port(), "/brightness?threshold=0", raw_type(64, 48), black);
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_TRUE(has(reply.body, "\"value\":\"bright\"")) << reply.body;
    reply = http_post(host.http_port(), "/brightness?threshold=abc", raw_type(64, 48), black);
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_TRUE(has(reply.body, "analyzer 'brightness': parameter 'threshold': must be a number between 0 and 255")) << reply.body;

    // gRPC: a stream to the C template, by extension configuration.
    StreamClient client(make_channel(host.grpc_port()));
    DescriptorSpec spec;
    spec.extension_configuration = "brightness";
    MediaStreamMessage message;
    ASSERT_TRUE(client.send(descriptor_message(spec)));
    ASSERT_TRUE(client.read(message));
    for (std::uint64_t i = 0; i < 2; ++i) {
        ASSERT_TRUE(client.send(embedded_sample(2 + i, i, i == 0 ? black : white)));
        ASSERT_TRUE(client.read(message));
        ASSERT_TRUE(message.has_media_sample());
        ASSERT_EQ(message.media_sample().inferences_size(), 1);
        const auto& inference = message.media_sample().inferences(0);
        EXPECT_EQ(inference.subtype(), "brightness");
        EXPECT_EQ(inference.classification().tag().value(), i == 0 ? "dark" : "bright");
    }
    ASSERT_TRUE(client.writes_done());
    const auto status = client.finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
}

} // namespace
} // namespace ava::test
