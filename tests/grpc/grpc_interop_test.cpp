// What the pipeline clients people migrate from send over gRPC (issue 12), reproduced exactly: Intel's
// pipeline-server default `{}`, the edge-ai-extension configuration shape, its "SampleGraph1" names, packed
// RAW bgr24 (stride 0), and its shared-memory allocator's one-byte-long, one-byte-overlapping references.
#include "host_process.h"
#include "stream_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <fstream>

namespace ava::test {
namespace {

constexpr std::uint32_t width = 64;
constexpr std::uint32_t height = 48;

class GrpcInterop : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        config_dir_ = std::make_unique<TempDir>();
        const auto config = config_dir_->path() / "config.json";
        std::ofstream(config) << R"({
  "routes": [
    {"analyzer": "color_intensity", "alias": "object_detection/person_vehicle_bike"}
  ]
})";
        host_ = std::make_unique<HostProcess>(std::vector<std::string>{"--no-http", "--config", config.string()});
    }
    static void TearDownTestSuite()
    {
        host_.reset();
        config_dir_.reset();
    }
    void TearDown() override { ASSERT_TRUE(host_->running()) << host_->log(); }

    static DescriptorSpec intel_spec(const std::string& configuration)
    {
        DescriptorSpec spec;
        spec.pipeline = "SampleGraph1";
        spec.node = "SampleGraph1";
        spec.extension_configuration = configuration;
        spec.stride = 0; // packed, as Intel's clients describe bgr24
        return spec;
    }

    // Sends `frames` embedded frames (alternating black and white) and checks each ack and classification.
    static void expect_classified_stream(const DescriptorSpec& spec, int frames, const std::string& expect_light)
    {
        StreamClient client(make_channel(host_->grpc_port()));
        MediaStreamMessage reply;
        ASSERT_TRUE(client.send(descriptor_message(spec)));
        ASSERT_TRUE(client.read(reply)) << client.finish().error_message();
        ASSERT_TRUE(reply.has_media_stream_descriptor());
        const std::string black = solid_raw_frame(width, height, width * 3, {0, 0, 0});
        const std::string white = solid_raw_frame(width, height, width * 3, {255, 255, 255});
        for (int i = 0; i < frames; ++i) {
            const auto sequence = static_cast<std::uint64_t>(2 + i);
            ASSERT_TRUE(client.send(embedded_sample(sequence, static_cast<std::uint64_t>(i), i % 2 ? white : black)));
            ASSERT_TRUE(client.read(reply));
            EXPECT_EQ(reply.ack_sequence_number(), sequence);
            EXPECT_EQ(intensity_of(reply), i % 2 ? expect_light : std::string("dark"));
        }
        client.writes_done();
        const auto status = client.drain_and_finish();
        EXPECT_TRUE(status.ok()) << status.error_message();
    }

    static std::unique_ptr<TempDir> config_dir_;
    static std::unique_ptr<HostProcess> host_;
};

std::unique_ptr<TempDir> GrpcInterop::config_dir_;
std::unique_ptr<HostProcess> GrpcInterop::host_;

TEST_F(GrpcInterop, EmptyObjectConfigurationIsTheDefaultRoute)
{
    expect_classified_stream(intel_spec("{}"), 4, "light");
    expect_classified_stream(intel_spec(" { } "), 2, "light");
}

TEST_F(GrpcInterop, IntelPipelineShapeResolvesThroughAnAlias)
{
    expect_classified_stream(
        intel_spec(R"({"pipeline":{"name":"object_detection","version":"person_vehicle_bike",)"
                   R"("parameters":{"threshold":100},"extensions":{"x":1}},"frame-destination":{"type":"mqtt"}})"),
        4, "light");
    // No alias for the name: the analyzer of that name, at the version asked for.
    expect_classified_stream(intel_spec(R"({"pipeline":{"name":"color_intensity","version":"1.0.0"}})"), 2, "light");
}

TEST_F(GrpcInterop, IntelPipelineParametersReachTheAnalyzer)
{
    // A threshold over 255 is refused by color_intensity: proof that pipeline.parameters are its parameters.
    StreamClient client(make_channel(host_->grpc_port()));
    client.send(descriptor_message(
        intel_spec(R"({"pipeline":{"name":"object_detection","version":"person_vehicle_bike","parameters":{"threshold":300}}})")));
    const auto status = client.drain_and_finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_NE(status.error_message().find("threshold"), std::string::npos) << status.error_message();
}

TEST_F(GrpcInterop, UnknownIntelPipelineIsNotFoundNamingWhatWasAskedAndWhatIsLoaded)
{
    StreamClient client(make_channel(host_->grpc_port()));
    client.send(descriptor_message(intel_spec(R"({"pipeline":{"name":"action_recognition","version":"general"}})")));
    const auto status = client.drain_and_finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
    EXPECT_NE(status.error_message().find("action_recognition"), std::string::npos) << status.error_message();
    EXPECT_NE(status.error_message().find("color_intensity"), std::string::npos) << status.error_message();
}

// Intel's shared-memory slot allocator: slot k starts one byte before k frames in (it overlaps the previous
// slot by a byte) and the reference is one byte longer than the frame. Every frame must be acknowledged, in
// order, with the right classification, at 1, 8 and 64 frames in flight.
void run_intel_shared_memory(std::uint16_t port, std::size_t in_flight, int frames)
{
    SCOPED_TRACE("frames in flight: " + std::to_string(in_flight));
    const std::uint64_t frame_size = std::uint64_t{width} * height * 3;
    const std::size_t slots = in_flight + 1;
    SharedMemoryFile shm(frame_size * (slots + 1));
    const auto offset_of = [&](std::size_t slot) { return slot == 0 ? 0 : slot * frame_size - 1; };
    const std::string black = solid_raw_frame(width, height, width * 3, {0, 0, 0});
    const std::string white = solid_raw_frame(width, height, width * 3, {255, 255, 255});

    StreamClient client(make_channel(port));
    DescriptorSpec spec;
    spec.pipeline = spec.node = "SampleGraph1";
    spec.shm_handle = shm.name();
    spec.shm_length = frame_size * (slots + 1);
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(spec)));
    ASSERT_TRUE(client.read(reply)) << client.finish().error_message();
    std::deque<int> unacked;
    int sent = 0;
    int acked = 0;
    while (acked < frames) {
        while (sent < frames && unacked.size() < in_flight) {
            const auto slot = static_cast<std::size_t>(sent) % slots;
            shm.write(offset_of(slot), sent % 2 ? white : black);
            ASSERT_TRUE(client.send(shared_sample(static_cast<std::uint64_t>(2 + sent), static_cast<std::uint64_t>(sent),
                                                  offset_of(slot), frame_size + 1)));
            unacked.push_back(sent++);
        }
        ASSERT_TRUE(client.read(reply)) << client.finish().error_message();
        const int expected = unacked.front();
        unacked.pop_front();
        ASSERT_EQ(reply.ack_sequence_number(), static_cast<std::uint64_t>(2 + expected));
        EXPECT_EQ(intensity_of(reply), expected % 2 ? "light" : "dark") << "frame " << expected;
        ++acked;
    }
    client.writes_done();
    const auto status = client.drain_and_finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(GrpcInterop, SharedMemoryReferencesOneByteLongerThanTheFrameAreRead)
{
    for (const std::size_t in_flight : {1u, 8u, 64u}) {
        run_intel_shared_memory(host_->grpc_port(), in_flight, 150);
    }
    EXPECT_NE(host_->log().find("longer than the frame"), std::string::npos);
}

TEST_F(GrpcInterop, SharedMemoryReferencesShorterThanTheFrameAreStillRefused)
{
    const std::uint64_t frame_size = std::uint64_t{width} * height * 3;
    SharedMemoryFile shm(frame_size * 2);
    StreamClient client(make_channel(host_->grpc_port()));
    DescriptorSpec spec;
    spec.shm_handle = shm.name();
    spec.shm_length = frame_size * 2;
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(spec)));
    ASSERT_TRUE(client.read(reply));
    client.send(shared_sample(2, 0, 0, frame_size - 1));
    const auto status = client.drain_and_finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
}

} // namespace
} // namespace ava::test
