// The AVA gRPC extension protocol, through the real host binary, with a real C++ gRPC client (built from
// our proto/) over a real socket.
#include "host_process.h"
#include "good_stream.h"
#include "stream_client.h"

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <sstream>
#include <thread>

namespace ava::test {
namespace {

using namespace std::chrono_literals;

std::string encode(const cv::Mat& image, const std::string& extension)
{
    std::vector<std::uint8_t> bytes;
    EXPECT_TRUE(cv::imencode(extension, image, bytes));
    return {bytes.begin(), bytes.end()};
}

cv::Mat flat(int width, int height, int gray) { return cv::Mat(height, width, CV_8UC3, cv::Scalar::all(gray)); }

std::string read_text(const std::filesystem::path& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class GrpcFrontend : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        // The bundled plugins plus the C "probe" test plugin (every inference kind and failure path).
        plugins_ = std::make_unique<TempDir>();
        copy_plugins(plugins_->path(), {"libprobe.so"});
        host_ = std::make_unique<HostProcess>(std::vector<std::string>{"--no-http"}, plugins_->path());
    }
    static void TearDownTestSuite()
    {
        host_.reset();
        plugins_.reset();
    }
    void TearDown() override { ASSERT_TRUE(host_->running()) << host_->log(); }

    static std::shared_ptr<grpc::Channel> channel() { return make_channel(host_->grpc_port()); }

    // Opens a stream, sends `messages`, reads to the end, and checks the final status.
    static void expect_status(const std::vector<MediaStreamMessage>& messages, grpc::StatusCode code,
                              const std::string& message_part)
    {
        StreamClient client(channel());
        for (const auto& message : messages) {
            if (!client.send(message)) {
                break; // the server already ended the stream
            }
        }
        const auto status = client.drain_and_finish();
        EXPECT_EQ(status.error_code(), code) << status.error_message();
        EXPECT_NE(status.error_message().find(message_part), std::string::npos) << status.error_message();
    }

    static std::unique_ptr<TempDir> plugins_;
    static std::unique_ptr<HostProcess> host_;
};

std::unique_ptr<TempDir> GrpcFrontend::plugins_;
std::unique_ptr<HostProcess> GrpcFrontend::host_;

TEST_F(GrpcFrontend, DescriptorIsAnsweredWithOurOwnDescriptor)
{
    StreamClient client(channel());
    ASSERT_TRUE(client.send(descriptor_message(DescriptorSpec{})));
    MediaStreamMessage reply;
    ASSERT_TRUE(client.read(reply));
    EXPECT_EQ(reply.sequence_number(), 1u);
    EXPECT_EQ(reply.ack_sequence_number(), 1u);
    ASSERT_TRUE(reply.has_media_stream_descriptor());
    EXPECT_EQ(reply.media_stream_descriptor().extension_identifier(), "ava-extension-host/color_intensity");
    client.writes_done();
    const auto status = client.drain_and_finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_NE(host_->log().find("pipeline 'test-pipeline'"), std::string::npos);
}

TEST_F(GrpcFrontend, EmbeddedRawFramesWithPaddedStride)
{
    struct Case {
        int pixel_format;
        std::array<std::uint8_t, 3> dark;  // dark in the stated channel order only
        std::array<std::uint8_t, 3> light;
    };
    // Gray = 0.299 R + 0.587 G + 0.114 B, so bytes (255, 128, 0) are dark read as BGR (104) and light read
    // as RGB (151): only a frame read in the stated channel order gets the expected answer.
    for (const Case& c : {Case{Format::BGR24, {255, 128, 0}, {0, 128, 255}}, Case{Format::RGB24, {0, 128, 255}, {255, 128, 0}}}) {
        SCOPED_TRACE(c.pixel_format);
        constexpr std::uint32_t width = 40, height = 30, stride = width * 3 + 24;
        DescriptorSpec spec;
        spec.pixel_format = c.pixel_format;
        spec.width = width;
        spec.height = height;
        spec.stride = stride;
        StreamClient client(channel());
        MediaStreamMessage reply;
        ASSERT_TRUE(client.send(descriptor_message(spec)));
        ASSERT_TRUE(client.read(reply));
        ASSERT_TRUE(client.send(embedded_sample(2, 111, solid_raw_frame(width, height, stride, c.dark))));
        ASSERT_TRUE(client.read(reply));
        EXPECT_EQ(reply.sequence_number(), 2u);
        EXPECT_EQ(reply.ack_sequence_number(), 2u);
        EXPECT_EQ(reply.media_sample().timestamp(), 111u);
        EXPECT_EQ(intensity_of(reply), "dark");
        ASSERT_TRUE(client.send(embedded_sample(3, 222, solid_raw_frame(width, height, stride, c.light))));
        ASSERT_TRUE(client.read(reply));
        EXPECT_EQ(reply.sequence_number(), 3u);
        EXPECT_EQ(reply.ack_sequence_number(), 3u);
        EXPECT_EQ(reply.media_sample().timestamp(), 222u);
        EXPECT_EQ(intensity_of(reply), "light");
        client.writes_done();
        EXPECT_TRUE(client.drain_and_finish().ok());
    }
}

TEST_F(GrpcFrontend, EmbeddedJpgPngAndBmpFramesAreDecoded)
{
    for (const auto& [encoding, extension] : {std::pair{Format::JPG, ".jpg"}, std::pair{Format::PNG, ".png"},
                                              std::pair{Format::BMP, ".bmp"}}) {
        SCOPED_TRACE(extension);
        DescriptorSpec spec;
        spec.encoding = encoding;
        spec.pixel_format = Format::NONE;
        StreamClient client(channel());
        MediaStreamMessage reply;
        ASSERT_TRUE(client.send(descriptor_message(spec)));
        ASSERT_TRUE(client.read(reply));
        ASSERT_TRUE(client.send(embedded_sample(2, 5, encode(flat(64, 48, 0), extension))));
        ASSERT_TRUE(client.send(embedded_sample(3, 6, encode(flat(64, 48, 255), extension))));
        ASSERT_TRUE(client.read(reply));
        EXPECT_EQ(reply.ack_sequence_number(), 2u);
        EXPECT_EQ(intensity_of(reply), "dark");
        ASSERT_TRUE(client.read(reply));
        EXPECT_EQ(reply.ack_sequence_number(), 3u);
        EXPECT_EQ(intensity_of(reply), "light");
        client.writes_done();
        EXPECT_TRUE(client.drain_and_finish().ok());
    }
}

TEST_F(GrpcFrontend, EmbeddedFrameLargerThanGrpcsDefaultLimitIsAccepted)
{
    DescriptorSpec spec;
    spec.width = 1920;
    spec.height = 1080;
    StreamClient client(channel());
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(spec)));
    ASSERT_TRUE(client.read(reply));
    ASSERT_TRUE(client.send(embedded_sample(2, 1, solid_raw_frame(1920, 1080, 1920 * 3, {255, 255, 255}))));
    ASSERT_TRUE(client.read(reply));
    EXPECT_EQ(intensity_of(reply), "light");
    client.writes_done();
    EXPECT_TRUE(client.drain_and_finish().ok());
}

// Pipelined: the client writes every frame without waiting, the server answers each exactly once, in order.
TEST_F(GrpcFrontend, SequenceAndAckNumbersOverManyPipelinedFrames)
{
    constexpr int frames = 600;
    StreamClient client(channel());
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(DescriptorSpec{})));
    ASSERT_TRUE(client.read(reply));
    auto writer = std::async(std::launch::async, [&] {
        const std::string black = solid_raw_frame(64, 48, 64 * 3, {0, 0, 0});
        const std::string white = solid_raw_frame(64, 48, 64 * 3, {255, 255, 255});
        for (int i = 0; i < frames; ++i) {
            const auto n = static_cast<std::uint64_t>(i);
            if (!client.send(embedded_sample(2 + n, 3000 * n, i % 3 == 0 ? white : black))) {
                return false;
            }
        }
        return client.writes_done();
    });
    for (int i = 0; i < frames; ++i) {
        const auto n = static_cast<std::uint64_t>(i);
        ASSERT_TRUE(client.read(reply)) << "reply " << i;
        ASSERT_EQ(reply.sequence_number(), 2 + n);
        ASSERT_EQ(reply.ack_sequence_number(), 2 + n);
        ASSERT_EQ(reply.media_sample().timestamp(), 3000 * n);
        ASSERT_EQ(intensity_of(reply), i % 3 == 0 ? "light" : "dark") << "reply " << i;
    }
    EXPECT_TRUE(writer.get());
    EXPECT_FALSE(client.read(reply)) << "one reply per frame, no more";
    EXPECT_TRUE(client.finish().ok());
}

TEST_F(GrpcFrontend, HundredFramesThroughSharedMemory)
{
    const auto result = run_shared_memory_session(channel(), 100);
    EXPECT_EQ(result.error, "");
    EXPECT_EQ(result.replies.size(), 100u);
    EXPECT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_EQ(result.descriptor_reply.sequence_number(), 1u);
    EXPECT_EQ(result.descriptor_reply.ack_sequence_number(), 1u);
}

TEST_F(GrpcFrontend, ManyConcurrentStreams)
{
    constexpr int streams = 24;
    std::vector<std::future<SessionResult>> running;
    for (int i = 0; i < streams; ++i) {
        running.push_back(std::async(std::launch::async, [i] {
            return run_shared_memory_session(channel(), 60, "pipeline-" + std::to_string(i), 4);
        }));
    }
    for (auto& r : running) {
        const auto result = r.get();
        EXPECT_EQ(result.error, "");
        EXPECT_EQ(result.replies.size(), 60u);
        EXPECT_TRUE(result.status.ok()) << result.status.error_message();
    }
}

TEST_F(GrpcFrontend, ExtensionConfigurationSelectsAnalyzerAndParameters)
{
    const std::string gray = solid_raw_frame(64, 48, 64 * 3, {100, 100, 100});
    for (const auto& [configuration, expected] :
         {std::pair<std::string, std::string>{"", "dark"}, {"color_intensity", "dark"},
          {R"({"analyzer":"color_intensity","parameters":{"threshold":50}})", "light"},
          {R"({"analyzer":"color_intensity","parameters":{"threshold":200}})", "dark"}}) {
        SCOPED_TRACE(configuration);
        DescriptorSpec spec;
        spec.extension_configuration = configuration;
        StreamClient client(channel());
        MediaStreamMessage reply;
        ASSERT_TRUE(client.send(descriptor_message(spec)));
        ASSERT_TRUE(client.read(reply));
        ASSERT_TRUE(client.send(embedded_sample(2, 0, gray)));
        ASSERT_TRUE(client.read(reply));
        EXPECT_EQ(intensity_of(reply), expected);
        client.writes_done();
        EXPECT_TRUE(client.drain_and_finish().ok());
    }
}

TEST_F(GrpcFrontend, EveryInferenceKindReachesTheClient)
{
    DescriptorSpec spec;
    spec.extension_configuration = "probe";
    StreamClient client(channel());
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(spec)));
    ASSERT_TRUE(client.read(reply));
    EXPECT_EQ(reply.media_stream_descriptor().extension_identifier(), "ava-extension-host/probe");
    ASSERT_TRUE(client.send(embedded_sample(2, 9, solid_raw_frame(64, 48, 64 * 3, {1, 2, 3}))));
    ASSERT_TRUE(client.read(reply));
    const auto& inferences = reply.media_sample().inferences();
    ASSERT_EQ(inferences.size(), 6);
    using I = contract::Inference;
    EXPECT_EQ(inferences[0].type(), I::CLASSIFICATION);
    EXPECT_EQ(inferences[0].subtype(), "frameSize");
    EXPECT_EQ(inferences[0].inference_id(), "cls-1");
    EXPECT_EQ(inferences[0].classification().tag().value(), "64x48");
    EXPECT_FLOAT_EQ(inferences[0].classification().tag().confidence(), 1.0f);
    ASSERT_EQ(inferences[0].classification().attributes_size(), 1);
    EXPECT_EQ(inferences[0].classification().attributes(0).name(), "colour");
    EXPECT_EQ(inferences[0].classification().attributes(0).value(), "grey");
    EXPECT_EQ(inferences[1].type(), I::ENTITY);
    EXPECT_EQ(inferences[1].entity().tag().value(), "probe");
    EXPECT_FLOAT_EQ(inferences[1].entity().box().l(), 0.25f);
    EXPECT_FLOAT_EQ(inferences[1].entity().box().w(), 0.5f);
    EXPECT_EQ(inferences[1].entity().id(), "entity-7");
    ASSERT_EQ(inferences[1].related_inferences_size(), 1);
    EXPECT_EQ(inferences[1].related_inferences(0), "cls-1");
    EXPECT_EQ(inferences[1].extensions().at("source"), "probe");
    EXPECT_EQ(inferences[2].type(), I::MOTION);
    EXPECT_FLOAT_EQ(inferences[2].motion().box().h(), 0.5f);
    EXPECT_EQ(inferences[3].type(), I::EVENT);
    EXPECT_EQ(inferences[3].event().name(), "probed");
    EXPECT_EQ(inferences[3].event().properties().at("frames"), "1");
    EXPECT_EQ(inferences[4].type(), I::TEXT);
    EXPECT_EQ(inferences[4].text().value(), "hello");
    EXPECT_EQ(inferences[4].text().language(), "en");
    EXPECT_EQ(inferences[4].text().start_timestamp(), 10u);
    EXPECT_EQ(inferences[4].text().end_timestamp(), 20u);
    EXPECT_EQ(inferences[5].type(), I::OTHER);
    EXPECT_EQ(inferences[5].other().content_type(), "text/plain");
    EXPECT_EQ(inferences[5].other().content_bytes(), "raw");
    client.writes_done();
    EXPECT_TRUE(client.drain_and_finish().ok());
}

// ---- bad streams: each answered with a clear status while another stream keeps working ----

TEST_F(GrpcFrontend, FirstMessageThatIsNotADescriptorIsInvalidArgument)
{
    GoodStream good(host_->grpc_port());
    expect_status({embedded_sample(1, 0, "x")}, grpc::StatusCode::INVALID_ARGUMENT,
                  "the first message must be a MediaStreamDescriptor");
}

TEST_F(GrpcFrontend, UnknownEncodingIsInvalidArgument)
{
    GoodStream good(host_->grpc_port());
    DescriptorSpec spec;
    spec.pipeline = "pipeline-with-a-bad-encoding";
    auto message = descriptor_message(spec);
    message.mutable_media_stream_descriptor()->mutable_media_descriptor()->mutable_video_frame_sample_format()->set_encoding(
        static_cast<Format::Encoding>(7));
    expect_status({message}, grpc::StatusCode::INVALID_ARGUMENT, "unknown video_frame_sample_format encoding 7");
    // The log says which pipeline was refused.
    EXPECT_TRUE(eventually([] { return host_->log().find("pipeline 'pipeline-with-a-bad-encoding'") != std::string::npos; }))
        << host_->log();
}

TEST_F(GrpcFrontend, UnknownOrMissingPixelFormatIsInvalidArgument)
{
    GoodStream good(host_->grpc_port());
    DescriptorSpec spec;
    spec.pixel_format = 99;
    expect_status({descriptor_message(spec)}, grpc::StatusCode::INVALID_ARGUMENT, "unknown value 99");
    spec.pixel_format = Format::NONE;
    expect_status({descriptor_message(spec)}, grpc::StatusCode::INVALID_ARGUMENT, "got NONE");
}

TEST_F(GrpcFrontend, ZeroDimensionsAreInvalidArgument)
{
    GoodStream good(host_->grpc_port());
    DescriptorSpec spec;
    spec.width = 0;
    expect_status({descriptor_message(spec)}, grpc::StatusCode::INVALID_ARGUMENT, "dimensions must be non-zero");
    spec.width = 64;
    spec.height = 0;
    expect_status({descriptor_message(spec)}, grpc::StatusCode::INVALID_ARGUMENT, "dimensions must be non-zero");
}

TEST_F(GrpcFrontend, StrideSmallerThanARowIsInvalidArgument)
{
    GoodStream good(host_->grpc_port());
    DescriptorSpec spec;
    spec.stride = 64 * 3 - 1;
    expect_status({descriptor_message(spec)}, grpc::StatusCode::INVALID_ARGUMENT, "smaller than one row");
}

TEST_F(GrpcFrontend, UnknownAnalyzerIsNotFound)
{
    GoodStream good(host_->grpc_port());
    DescriptorSpec spec;
    spec.extension_configuration = "no_such_analyzer";
    expect_status({descriptor_message(spec)}, grpc::StatusCode::NOT_FOUND, "no_such_analyzer");
    spec.extension_configuration = R"({"analyzer":"no_such_analyzer"})";
    expect_status({descriptor_message(spec)}, grpc::StatusCode::NOT_FOUND, "no_such_analyzer");
}

// A 70 KB bare name is over the 64 KiB limit (not NOT_FOUND echoing all of it), and no status quotes more
// than a short prefix of what the client sent.
TEST_F(GrpcFrontend, OversizedExtensionConfigurationIsInvalidArgumentQuotedShort)
{
    GoodStream good(host_->grpc_port());
    DescriptorSpec spec;
    spec.extension_configuration = std::string(70000, 'x');
    StreamClient client(channel());
    client.send(descriptor_message(spec));
    const auto status = client.drain_and_finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message().substr(0, 300);
    EXPECT_NE(status.error_message().find("over the limit of 65536"), std::string::npos)
        << status.error_message().substr(0, 300);
    EXPECT_LT(status.error_message().size(), 1000u);
    spec.extension_configuration = std::string(5000, 'y');
    StreamClient second(channel());
    second.send(descriptor_message(spec));
    const auto not_found = second.drain_and_finish();
    EXPECT_EQ(not_found.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_LT(not_found.error_message().size(), 1000u) << not_found.error_message().substr(0, 300);
    EXPECT_NE(not_found.error_message().find("(5000 bytes)"), std::string::npos) << not_found.error_message().substr(0, 300);
}

TEST_F(GrpcFrontend, AnalyzerRefusingTheStreamIsInvalidArgument)
{
    GoodStream good(host_->grpc_port());
    DescriptorSpec spec;
    spec.extension_configuration = R"({"analyzer":"probe","parameters":{"mode":"reject"}})";
    expect_status({descriptor_message(spec)}, grpc::StatusCode::INVALID_ARGUMENT, "refuses every stream");
}

TEST_F(GrpcFrontend, MissingSharedMemoryFileIsNotFoundWithIpcAdvice)
{
    GoodStream good(host_->grpc_port());
    DescriptorSpec spec;
    spec.shm_handle = "ava_test_no_such_buffer";
    spec.shm_length = 1 << 20;
    expect_status({descriptor_message(spec)}, grpc::StatusCode::NOT_FOUND, "share an IPC namespace");
}

TEST_F(GrpcFrontend, SharedMemoryHandleWithPathPartsIsInvalidArgument)
{
    GoodStream good(host_->grpc_port());
    for (const std::string handle : {"../etc/passwd", "..", "a/b", "/dev/shm/x"}) {
        SCOPED_TRACE(handle);
        DescriptorSpec spec;
        spec.shm_handle = handle;
        spec.shm_length = 4096;
        expect_status({descriptor_message(spec)}, grpc::StatusCode::INVALID_ARGUMENT, "handle_name");
    }
}

TEST_F(GrpcFrontend, SharedMemoryFileShorterThanItsLengthIsInvalidArgument)
{
    GoodStream good(host_->grpc_port());
    SharedMemoryFile shm(4096);
    DescriptorSpec spec;
    spec.shm_handle = shm.name();
    spec.shm_length = 1 << 20;
    expect_status({descriptor_message(spec)}, grpc::StatusCode::INVALID_ARGUMENT, "shorter than");
}

TEST_F(GrpcFrontend, SharedMemoryReferenceOutsideTheBufferIsInvalidArgumentAfterEarlierAcks)
{
    GoodStream good(host_->grpc_port());
    constexpr std::uint64_t frame = 64 * 48 * 3;
    SharedMemoryFile shm(frame * 2);
    shm.write(0, solid_raw_frame(64, 48, 64 * 3, {0, 0, 0}));
    DescriptorSpec spec;
    spec.shm_handle = shm.name();
    spec.shm_length = frame * 2;
    for (const auto& [offset, length] :
         {std::pair<std::uint64_t, std::uint64_t>{frame + 1, frame}, {frame * 2, frame},
          {std::numeric_limits<std::uint64_t>::max() - 10, frame}, {0, std::numeric_limits<std::uint64_t>::max()}}) {
        SCOPED_TRACE(offset);
        StreamClient client(channel());
        MediaStreamMessage reply;
        ASSERT_TRUE(client.send(descriptor_message(spec)));
        ASSERT_TRUE(client.read(reply));
        ASSERT_TRUE(client.send(shared_sample(2, 0, 0, frame)));
        ASSERT_TRUE(client.send(shared_sample(3, 0, offset, length)));
        ASSERT_TRUE(client.read(reply)); // the good frame before the bad one is still acknowledged
        EXPECT_EQ(reply.ack_sequence_number(), 2u);
        EXPECT_EQ(intensity_of(reply), "dark");
        const auto status = client.drain_and_finish();
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_NE(status.error_message().find("sequence_number 3"), std::string::npos) << status.error_message();
        EXPECT_NE(status.error_message().find("outside"), std::string::npos) << status.error_message();
    }
}

TEST_F(GrpcFrontend, GarbageJpgIsInvalidArgumentNamingTheSample)
{
    GoodStream good(host_->grpc_port());
    DescriptorSpec spec;
    spec.encoding = Format::JPG;
    StreamClient client(channel());
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(spec)));
    ASSERT_TRUE(client.read(reply));
    ASSERT_TRUE(client.send(embedded_sample(2, 0, encode(flat(64, 48, 0), ".jpg"))));
    ASSERT_TRUE(client.read(reply));
    EXPECT_EQ(intensity_of(reply), "dark");
    client.send(embedded_sample(3, 0, "this is not a JPEG at all"));
    const auto status = client.drain_and_finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("sequence_number 3"), std::string::npos) << status.error_message();
    EXPECT_NE(status.error_message().find("JPEG"), std::string::npos) << status.error_message();
}

// Bytes that are not a MediaStreamMessage at all, sent with gRPC's generic (untyped) stub: the stream must end
// with an error the client can see, never with OK as if it had closed its side normally.
grpc::Status send_raw_message(const std::shared_ptr<grpc::Channel>& channel, const std::string& bytes)
{
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 10s);
    grpc::CompletionQueue queue;
    const auto wait = [&queue] {
        void* tag = nullptr;
        bool ok = false;
        return queue.Next(&tag, &ok) && ok;
    };
    auto call = stub.PrepareCall(
        &context, "/microsoft.azure.media.live_video_analytics.extensibility.grpc.v1.MediaGraphExtension/ProcessMediaStream",
        &queue);
    call->StartCall(nullptr);
    EXPECT_TRUE(wait());
    grpc::Slice slice(bytes);
    const grpc::ByteBuffer message(&slice, 1);
    call->Write(message, nullptr);
    wait();
    grpc::ByteBuffer reply;
    call->Read(&reply, nullptr); // no reply is expected: the message is not a descriptor
    wait();
    grpc::Status status;
    call->Finish(&status, nullptr);
    wait();
    queue.Shutdown();
    while (wait()) {
    }
    return status;
}

TEST_F(GrpcFrontend, GarbageProtobufEndsTheStreamWithAnError)
{
    GoodStream good(host_->grpc_port());
    const auto status = send_raw_message(channel(), std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_NE(status.error_message().find("is not a MediaStreamMessage"), std::string::npos) << status.error_message();
}

TEST_F(GrpcFrontend, OtherBadSamplesAreInvalidArgument)
{
    GoodStream good(host_->grpc_port());
    const DescriptorSpec spec;
    const auto descriptor = descriptor_message(spec);
    // Wrong size for the described RAW layout.
    expect_status({descriptor, embedded_sample(2, 0, std::string(100, '\0'))}, grpc::StatusCode::INVALID_ARGUMENT,
                  "needs 9216 bytes, got 100");
    // An image of another size than the descriptor's (the analyzer's session was opened for 64x48).
    DescriptorSpec jpg = spec;
    jpg.encoding = Format::JPG;
    expect_status({descriptor_message(jpg), embedded_sample(2, 0, encode(flat(32, 32, 0), ".jpg"))},
                  grpc::StatusCode::INVALID_ARGUMENT, "the image is 32x32 but the stream's descriptor says 64x48");
    // A reference without shared memory set up.
    expect_status({descriptor, shared_sample(2, 0, 0, 10)}, grpc::StatusCode::INVALID_ARGUMENT, "no shared memory");
    // No content at all.
    MediaStreamMessage empty;
    empty.set_sequence_number(2);
    empty.mutable_media_sample()->set_timestamp(1);
    expect_status({descriptor, empty}, grpc::StatusCode::INVALID_ARGUMENT, "no content");
    // A second descriptor.
    expect_status({descriptor, descriptor_message(spec, 2)}, grpc::StatusCode::INVALID_ARGUMENT,
                  "expected a MediaSample");
    // Sequence numbers that do not increase.
    const std::string frame = solid_raw_frame(64, 48, 64 * 3, {0, 0, 0});
    expect_status({descriptor, embedded_sample(5, 0, frame), embedded_sample(5, 0, frame)},
                  grpc::StatusCode::INVALID_ARGUMENT, "does not increase");
}

// An analyzer's failure is not the pipeline's: each failed frame is acknowledged without inferences, and
// only five failures in a row (--max-consecutive-analyzer-errors) end the stream, with INTERNAL.
TEST_F(GrpcFrontend, AnalyzerFailureMidStreamIsAckedEmptyUntilFiveInARowEndItWithInternal)
{
    GoodStream good(host_->grpc_port());
    DescriptorSpec spec;
    spec.extension_configuration = R"({"analyzer":"probe","parameters":{"mode":"fail"}})";
    StreamClient client(channel());
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(spec)) && client.read(reply));
    const auto frame = solid_raw_frame(64, 48, 64 * 3, {0, 0, 0});
    for (std::uint64_t i = 0; i < 4; ++i) {
        ASSERT_TRUE(client.send(embedded_sample(2 + i, i, frame)) && client.read(reply));
        EXPECT_EQ(reply.ack_sequence_number(), 2 + i);
        EXPECT_EQ(reply.media_sample().inferences_size(), 0);
    }
    client.send(embedded_sample(6, 4, frame));
    const auto status = client.drain_and_finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << status.error_message();
    EXPECT_NE(status.error_message().find("failure requested"), std::string::npos) << status.error_message();
    EXPECT_NE(status.error_message().find("5 frames in a row failed"), std::string::npos) << status.error_message();
}

// A failed frame's ack carries no inferences, even when the reply it reuses carried some for an earlier frame.
TEST_F(GrpcFrontend, FailedFrameAmongGoodOnesIsAckedWithoutTheEarlierFramesInferences)
{
    DescriptorSpec spec;
    spec.extension_configuration = R"({"analyzer":"probe","parameters":{"mode":"everythirdfails"}})";
    StreamClient client(channel());
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(spec)) && client.read(reply));
    const auto frame = solid_raw_frame(64, 48, 64 * 3, {0, 0, 0});
    for (std::uint64_t i = 0; i < 12; ++i) {
        ASSERT_TRUE(client.send(embedded_sample(2 + i, i, frame)) && client.read(reply)) << "frame " << i;
        EXPECT_EQ(reply.ack_sequence_number(), 2 + i);
        EXPECT_EQ(reply.media_sample().timestamp(), i);
        EXPECT_EQ(reply.media_sample().inferences_size(), (i + 1) % 3 == 0 ? 0 : 1) << "frame " << i;
    }
    client.writes_done();
    EXPECT_TRUE(client.drain_and_finish().ok());
}

// ---- the client goes away ----

TEST_F(GrpcFrontend, ClientDisconnectingMidStreamFreesTheStream)
{
    constexpr std::uint64_t frame = 64 * 48 * 3;
    SharedMemoryFile shm(frame * 4);
    shm.write(0, solid_raw_frame(64, 48, 64 * 3, {0, 0, 0}));
    const auto maps = "/proc/" + std::to_string(host_->pid()) + "/maps";
    {
        DescriptorSpec spec;
        spec.pipeline = "leaving-pipeline";
        spec.shm_handle = shm.name();
        spec.shm_length = frame * 4;
        // Its own channel, so that dropping it closes the connection like a crashed pipeline would.
        auto own_channel = make_channel(host_->grpc_port());
        StreamClient client(own_channel);
        MediaStreamMessage reply;
        ASSERT_TRUE(client.send(descriptor_message(spec)));
        ASSERT_TRUE(client.read(reply));
        for (std::uint64_t i = 0; i < 10; ++i) {
            ASSERT_TRUE(client.send(shared_sample(2 + i, i, 0, frame)));
        }
        ASSERT_TRUE(client.read(reply));
        EXPECT_EQ(intensity_of(reply), "dark");
        // The host maps the sender's buffer while the stream is open...
        EXPECT_NE(read_text(maps).find(shm.name()), std::string::npos);
        client.cancel();
        EXPECT_EQ(client.drain_and_finish().error_code(), grpc::StatusCode::CANCELLED);
    }
    // ...and unmaps it, closing the analyzer session, once the client is gone.
    EXPECT_TRUE(eventually([&] { return read_text(maps).find(shm.name()) == std::string::npos; }))
        << "the shared memory is still mapped after the client left";
    EXPECT_TRUE(eventually([] {
        return host_->log().find("pipeline 'leaving-pipeline'") != std::string::npos &&
               host_->log().find("analyzer session and shared memory released") != std::string::npos;
    })) << host_->log();
    // And it goes on serving.
    const auto result = run_shared_memory_session(channel(), 20, "after-the-disconnect");
    EXPECT_EQ(result.error, "");
    EXPECT_TRUE(result.status.ok());
}

// ---- saturation: more frames than the workers admit ----

// One admission ticket for the whole host: streams that find none stop reading and retry, and every frame
// of every stream is still answered, in order.
TEST(GrpcBackPressure, StreamsWaitForAdmissionInsteadOfFailing)
{
    HostProcess host({"--no-http", "--workers", "2", "--max-concurrent-frames", "1"});
    std::vector<std::future<SessionResult>> running;
    for (int i = 0; i < 8; ++i) {
        running.push_back(std::async(std::launch::async, [&host, i] {
            return run_shared_memory_session(make_channel(host.grpc_port()), 100, "saturating-" + std::to_string(i));
        }));
    }
    for (auto& r : running) {
        const auto result = r.get();
        EXPECT_EQ(result.error, "");
        EXPECT_EQ(result.replies.size(), 100u);
        EXPECT_TRUE(result.status.ok()) << result.status.error_message();
    }
}

// ---- authentication, TLS, shutdown: hosts of their own ----

std::string base64(const std::string& text)
{
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const unsigned char c : text) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(buffer >> bits) & 0x3F];
        }
    }
    if (bits > 0) {
        out += alphabet[(buffer << (6 - bits)) & 0x3F];
    }
    while (out.size() % 4 != 0) {
        out += '=';
    }
    return out;
}

TEST(GrpcAuthentication, CredentialsAreRequiredWhenConfigured)
{
    HostProcess host({"--no-http", "--username", "ava", "--password", "s3cret:pass"});
    const auto channel = make_channel(host.grpc_port());
    const auto good = "Basic " + base64("ava:s3cret:pass");

    const auto accepted = run_shared_memory_session(channel, 10, "authenticated", 4, {{"x-ms-authentication", good}});
    EXPECT_EQ(accepted.error, "");
    EXPECT_TRUE(accepted.status.ok()) << accepted.status.error_message();

    for (const auto& metadata : std::vector<std::vector<std::pair<std::string, std::string>>>{
             {},
             {{"x-ms-authentication", "Basic " + base64("ava:wrong")}},
             {{"x-ms-authentication", "Basic " + base64("ava:s3cret:pas")}},
             {{"x-ms-authentication", "Basic !!!notbase64"}},
             {{"authorization", good}}}) {
        StreamClient client(channel, metadata);
        client.send(descriptor_message(DescriptorSpec{}));
        const auto status = client.drain_and_finish();
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
        EXPECT_NE(status.error_message().find("x-ms-authentication"), std::string::npos) << status.error_message();
    }
}

TEST(GrpcTls, StreamsOverTlsWithTheConfiguredCertificate)
{
    TempDir dir;
    const auto key = dir.path() / "key.pem";
    const auto cert = dir.path() / "cert.pem";
    const auto command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
                         "subjectAltName=DNS:localhost -keyout " +
                         key.string() + " -out " + cert.string() + " > " + (dir.path() / "openssl.log").string() +
                         " 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << read_text(dir.path() / "openssl.log");
    HostProcess host({"--no-http", "--tls-cert", cert.string(), "--tls-key", key.string()});

    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = read_text(cert);
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride("localhost"); // the certificate's name; we dial 127.0.0.1
    const auto secure = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(host.grpc_port()),
                                                  grpc::SslCredentials(tls), arguments);
    const auto result = run_shared_memory_session(secure, 20, "over-tls");
    EXPECT_EQ(result.error, "");
    EXPECT_TRUE(result.status.ok()) << result.status.error_message();

    // A plaintext client gets nowhere.
    StreamClient plain(make_channel(host.grpc_port()), {}, std::chrono::seconds(5));
    plain.send(descriptor_message(DescriptorSpec{}));
    EXPECT_FALSE(plain.drain_and_finish().ok());
}

TEST(GrpcShutdown, OpenStreamsEndWithUnavailableAndTheHostExitsCleanly)
{
    HostProcess host({"--no-http"});
    StreamClient client(make_channel(host.grpc_port()));
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(DescriptorSpec{})));
    ASSERT_TRUE(client.read(reply));
    ASSERT_TRUE(client.send(embedded_sample(2, 0, solid_raw_frame(64, 48, 64 * 3, {0, 0, 0}))));
    ASSERT_TRUE(client.read(reply));
    auto exit_code = std::async(std::launch::async, [&] { return host.terminate(); });
    const auto status = client.drain_and_finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_EQ(exit_code.get(), 0) << host.log();
}

} // namespace
} // namespace ava::test
