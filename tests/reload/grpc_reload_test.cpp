// Hot reload under a live gRPC stream: the open stream keeps the version it started on, frame after frame,
// and loses none while v2 replaces v1; a new stream gets v2; v1 unloads once the old stream ends.
#include "reload_support.h"
#include "stream_client.h"

#include <gtest/gtest.h>

namespace ava::test {
namespace {

using namespace std::chrono_literals;

std::string value_of(const MediaStreamMessage& reply)
{
    const auto& inferences = reply.media_sample().inferences();
    return inferences.empty() ? "(no inference)" : inferences[0].classification().tag().value();
}

// One open stream on the swap analyzer; next() sends a frame and returns the analyzer's answer to it,
// checking it acknowledges exactly that frame.
class SwapStream {
public:
    explicit SwapStream(const std::shared_ptr<grpc::Channel>& channel) : client_(channel)
    {
        DescriptorSpec spec;
        spec.extension_configuration = "swap";
        MediaStreamMessage reply;
        opened_ = client_.send(descriptor_message(spec)) && client_.read(reply) && reply.has_media_stream_descriptor();
    }
    bool opened() const { return opened_; }

    std::string next()
    {
        MediaStreamMessage reply;
        if (!client_.send(embedded_sample(sequence_, sequence_ * 3000, frame_)) || !client_.read(reply)) {
            return "(stream broken)";
        }
        if (reply.ack_sequence_number() != sequence_++) {
            return "(acked " + std::to_string(reply.ack_sequence_number()) + ")";
        }
        return value_of(reply);
    }

    grpc::Status finish()
    {
        client_.writes_done();
        return client_.drain_and_finish();
    }

private:
    StreamClient client_;
    bool opened_ = false;
    std::uint64_t sequence_ = 2; // the descriptor was 1
    std::string frame_ = solid_raw_frame(64, 48, 64 * 3, {0, 0, 0});
};

TEST(GrpcHotReload, OpenStreamKeepsItsVersionAndLosesNoFrame)
{
    TempDir plugins;
    const auto file = plugins.path() / "libswap.so";
    copy_over(test_plugin("swap_v1"), file);
    HostProcess host({}, plugins.path());
    const auto channel = make_channel(host.grpc_port());
    const auto v1 = listed_analyzers(host.http_port());
    ASSERT_EQ(v1.size(), 1u);

    SwapStream old_stream(channel);
    ASSERT_TRUE(old_stream.opened()) << host.log();
    ASSERT_EQ(old_stream.next(), "v1");

    copy_over(test_plugin("swap_v2"), file);
    // Frames keep flowing on the open stream while the host loads v2 and routes new work to it.
    int frames = 1;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (answer(host.http_port(), "/swap") != "v2") {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << host.log();
        ASSERT_EQ(old_stream.next(), "v1");
        ++frames;
    }
    for (int i = 0; i < 20; ++i, ++frames) {
        ASSERT_EQ(old_stream.next(), "v1") << "frame " << frames << " of the open stream";
    }

    SwapStream new_stream(channel);
    ASSERT_TRUE(new_stream.opened());
    EXPECT_EQ(new_stream.next(), "v2");
    EXPECT_TRUE(new_stream.finish().ok());

    // v1 stays mapped, listed as draining, while the old stream is open; unloaded once it ends.
    EXPECT_TRUE(mapped(host.pid(), v1[0].loaded_from));
    bool draining = false;
    for (const auto& a : listed_analyzers(host.http_port())) {
        draining = draining || (a.version == "1.0.0" && a.state == "draining");
    }
    EXPECT_TRUE(draining);
    EXPECT_EQ(old_stream.next(), "v1");
    EXPECT_TRUE(old_stream.finish().ok());
    EXPECT_TRUE(eventually([&] { return !mapped(host.pid(), v1[0].loaded_from); }, 5s)) << host.log();
}

} // namespace
} // namespace ava::test
