// ABI 1.2 declared input, through the real host: a plugin that declares it takes GRAY8 of at least 100x100
// (probe_gray) or exactly 64x48 RGB24 (probe_exact) is handed frames decoded and shrunk to that, over HTTP
// (JPEG and RAW bodies) and gRPC (embedded JPEG, RAW in shared memory), in a worker process and in the
// host's own; its open_stream() is told the delivered size and format; a plugin that declares nothing
// (probe) still gets frames as sent. The test probe answers "frame WxH/format" and "stream WxH/format".
#include "host_process.h"
#include "stream_client.h"

#include <ava_plugin.h>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ava::test {
namespace {

constexpr int gray8 = AVA_PIXEL_FORMAT_GRAY8;
constexpr int bgr24 = AVA_PIXEL_FORMAT_BGR24;
constexpr int rgb24 = AVA_PIXEL_FORMAT_RGB24;

std::string frame_text(int width, int height, int format)
{
    return "frame " + std::to_string(width) + "x" + std::to_string(height) + "/" + std::to_string(format);
}

// A real picture's worth of detail (a gradient with edges), 800x600, as JPEG bytes.
std::string jpeg_800x600()
{
    cv::Mat image(600, 800, CV_8UC3);
    for (int y = 0; y < image.rows; ++y) {
        for (int x = 0; x < image.cols; ++x) {
            image.at<cv::Vec3b>(y, x) = {static_cast<std::uint8_t>(x / 4), static_cast<std::uint8_t>(y / 3),
                                         static_cast<std::uint8_t>((x / 50 + y / 50) % 2 * 255)};
        }
    }
    std::vector<std::uint8_t> bytes;
    EXPECT_TRUE(cv::imencode(".jpg", image, bytes));
    return {bytes.begin(), bytes.end()};
}

std::vector<std::string> classifications(const MediaStreamMessage& reply)
{
    std::vector<std::string> values;
    for (const auto& inference : reply.media_sample().inferences()) {
        values.push_back(inference.classification().tag().value());
    }
    return values;
}

class DeclaredInput : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override
    {
        copy_plugins(plugins_.path(), {"libprobe.so", "libprobe_gray.so", "libprobe_exact.so"});
        host_ = std::make_unique<HostProcess>(std::vector<std::string>{"--isolation", GetParam()}, plugins_.path());
    }
    void TearDown() override { ASSERT_TRUE(host_->running()) << host_->log(); }

    // What the probe named `analyzer`, in `mode`, says about one frame sent over gRPC with `spec` and `sample`.
    std::vector<std::string> over_grpc(const std::string& analyzer, DescriptorSpec spec,
                                       const std::function<MediaStreamMessage()>& sample,
                                       const std::string& mode = "frameinfo")
    {
        spec.extension_configuration = R"({"analyzer":")" + analyzer + R"(","parameters":{"mode":")" + mode + R"("}})";
        StreamClient client(make_channel(host_->grpc_port()));
        MediaStreamMessage reply;
        EXPECT_TRUE(client.send(descriptor_message(spec)));
        EXPECT_TRUE(client.read(reply));
        EXPECT_TRUE(client.send(sample()));
        EXPECT_TRUE(client.read(reply));
        client.writes_done();
        const auto status = client.drain_and_finish();
        EXPECT_TRUE(status.ok()) << status.error_message();
        return classifications(reply);
    }

    // An 800x600 frame sent with `spec` and `sample`: what each of the three probes was handed and told.
    void expect_delivered_over_grpc(const DescriptorSpec& spec, const std::function<MediaStreamMessage()>& sample)
    {
        EXPECT_EQ(over_grpc("probe_gray", spec, sample),
                  (std::vector<std::string>{frame_text(200, 150, gray8), "stream 200x150/1"}));
        EXPECT_EQ(over_grpc("probe_exact", spec, sample),
                  (std::vector<std::string>{frame_text(64, 48, rgb24), "stream 64x48/3"}));
        EXPECT_EQ(over_grpc("probe", spec, sample),
                  (std::vector<std::string>{frame_text(800, 600, bgr24), "stream 800x600/2"}));
    }

    // The same over HTTP, for one body.
    std::string over_http(const std::string& analyzer, const std::string& content_type, const std::string& body)
    {
        const auto reply = http_post(host_->http_port(), "/" + analyzer + "?mode=frameinfo", content_type, body);
        EXPECT_EQ(reply.status, 200) << reply.body;
        return reply.body;
    }

    // A descriptor for `raw` (BGR24 with `stride`) in the shared-memory file `shm`.
    static DescriptorSpec shared_memory_spec(SharedMemoryFile& shm, std::uint32_t width, std::uint32_t height,
                                             std::uint32_t stride)
    {
        DescriptorSpec spec;
        spec.width = width;
        spec.height = height;
        spec.stride = stride;
        spec.shm_handle = shm.name();
        spec.shm_length = shm.bytes().size();
        return spec;
    }

    TempDir plugins_;
    std::unique_ptr<HostProcess> host_;
};

TEST_P(DeclaredInput, JpegIsDecodedStraightToTheDeclaredScaleAndFormat)
{
    const auto jpeg = jpeg_800x600();
    // 800x600 shrinks by 4 (200x150) and not by 8 (100x75 is under 100x100).
    EXPECT_NE(over_http("probe_gray", "image/jpeg", jpeg).find(frame_text(200, 150, gray8)), std::string::npos);
    EXPECT_NE(over_http("probe_exact", "image/jpeg", jpeg).find(frame_text(64, 48, rgb24)), std::string::npos);
    EXPECT_NE(over_http("probe", "image/jpeg", jpeg).find(frame_text(800, 600, bgr24)), std::string::npos);

    DescriptorSpec spec;
    spec.encoding = Format::JPG;
    spec.pixel_format = Format::NONE;
    spec.width = 800;
    spec.height = 600;
    const auto sample = [&] { return embedded_sample(2, 7, jpeg); };
    expect_delivered_over_grpc(spec, sample);
}

TEST_P(DeclaredInput, RawFramesAreConvertedAndShrunkOnce)
{
    constexpr std::uint32_t width = 800, height = 600, stride = width * 3 + 16;
    const auto raw = solid_raw_frame(width, height, stride, {10, 200, 30});
    const std::string type = "image/x-raw; width=800; height=600; format=bgr24; stride=" + std::to_string(stride);
    EXPECT_NE(over_http("probe_gray", type, raw).find(frame_text(200, 150, gray8)), std::string::npos);
    EXPECT_NE(over_http("probe", type, raw).find(frame_text(800, 600, bgr24)), std::string::npos);

    SharedMemoryFile shm(raw.size());
    shm.write(0, raw);
    const auto sample = [&] { return shared_sample(2, 7, 0, raw.size()); };
    expect_delivered_over_grpc(shared_memory_spec(shm, width, height, stride), sample);
}

// The pixels themselves, not only the shape: a solid BGR frame (with row padding) reaches each probe in its
// own channel order, through its stride, also through a worker's frame arena.
TEST_P(DeclaredInput, RawPixelsArriveInTheDeclaredChannelOrder)
{
    constexpr std::uint32_t width = 800, height = 600, stride = width * 3 + 16;
    const auto raw = solid_raw_frame(width, height, stride, {10, 200, 30});
    cv::Mat gray;
    cv::cvtColor(cv::Mat(1, 1, CV_8UC3, cv::Scalar(10, 200, 30)), gray, cv::COLOR_BGR2GRAY);
    const auto gray_text = "pixel " + std::to_string(gray.at<std::uint8_t>(0, 0));
    const std::string type = "image/x-raw; width=800; height=600; format=bgr24; stride=" + std::to_string(stride);
    const auto last_pixel = [&](const std::string& analyzer) {
        const auto reply = http_post(host_->http_port(), "/" + analyzer + "?mode=lastpixel", type, raw);
        EXPECT_EQ(reply.status, 200) << reply.body;
        return reply.body;
    };
    EXPECT_NE(last_pixel("probe").find(R"("pixel 10,200,30")"), std::string::npos) << last_pixel("probe");
    EXPECT_NE(last_pixel("probe_exact").find(R"("pixel 30,200,10")"), std::string::npos) << last_pixel("probe_exact");
    EXPECT_NE(last_pixel("probe_gray").find("\"" + gray_text + "\""), std::string::npos) << last_pixel("probe_gray");

    SharedMemoryFile shm(raw.size());
    shm.write(0, raw);
    const auto spec = shared_memory_spec(shm, width, height, stride);
    const auto sample = [&] { return shared_sample(2, 7, 0, raw.size()); };
    const auto over_shm = [&](const std::string& analyzer) { return over_grpc(analyzer, spec, sample, "lastpixel"); };
    EXPECT_EQ(over_shm("probe"), std::vector<std::string>{"pixel 10,200,30"});
    EXPECT_EQ(over_shm("probe_exact"), std::vector<std::string>{"pixel 30,200,10"});
    EXPECT_EQ(over_shm("probe_gray"), std::vector<std::string>{gray_text});
}

TEST_P(DeclaredInput, AnalyzersListingShowsTheDeclaration)
{
    const auto listing = http_request(host_->http_port(), "GET", "/analyzers").body;
    EXPECT_NE(listing.find(R"("input":"GRAY8, min 100x100")"), std::string::npos) << listing;
    EXPECT_NE(listing.find(R"("input":"RGB24, exactly 64x48")"), std::string::npos) << listing;
    EXPECT_NE(listing.find(R"("input":"any format, full size")"), std::string::npos) << listing;
}

INSTANTIATE_TEST_SUITE_P(Isolation, DeclaredInput, ::testing::Values("process", "none"));

} // namespace
} // namespace ava::test
