// The HTTP extension protocol, through the real host binary over real sockets.
#include "host_process.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

namespace ava::test {
namespace {

std::string encode(const cv::Mat& image, const std::string& extension)
{
    std::vector<std::uint8_t> bytes;
    EXPECT_TRUE(cv::imencode(extension, image, bytes));
    return {bytes.begin(), bytes.end()};
}

cv::Mat flat(int width, int height, int gray) { return cv::Mat(height, width, CV_8UC3, cv::Scalar::all(gray)); }

std::string black_jpeg() { return encode(flat(64, 48, 0), ".jpg"); }
std::string white_jpeg() { return encode(flat(64, 48, 255), ".jpg"); }

// One host for the whole suite (starting one per test would dominate the run time), with the bundled
// plugins plus the C "probe" test plugin, and a small body limit and timeout for the limit tests.
class HttpFrontend : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        plugins_ = std::make_unique<TempDir>();
        copy_plugins(plugins_->path(), {"libprobe.so"});
        host_ = std::make_unique<HostProcess>(
            std::vector<std::string>{"--no-grpc", "--max-body-bytes", "2000000", "--request-timeout-ms", "1500"},
            plugins_->path());
    }
    static void TearDownTestSuite()
    {
        host_.reset();
        plugins_.reset();
    }
    void TearDown() override
    {
        // Whatever a test sent, the host must still be serving.
        ASSERT_TRUE(host_->running()) << host_->log();
        EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
    }
    static std::uint16_t port() { return host_->http_port(); }

    static void expect_classification(const HttpReply& reply, const std::string& value)
    {
        ASSERT_EQ(reply.status, 200) << reply.body;
        EXPECT_EQ(reply.headers.at("content-type"), "application/json");
        EXPECT_EQ(schema_violation(reply.body), "");
        EXPECT_NE(reply.body.find(R"("type":"classification")"), std::string::npos) << reply.body;
        EXPECT_NE(reply.body.find(R"("subtype":"colorIntensity")"), std::string::npos) << reply.body;
        EXPECT_NE(reply.body.find(R"("value":")" + value + "\""), std::string::npos) << reply.body;
    }
    static void expect_bad_request(const HttpReply& reply, const std::string& message_part)
    {
        EXPECT_EQ(reply.status, 400) << reply.body;
        EXPECT_EQ(reply.headers.at("content-type"), "application/json");
        EXPECT_NE(reply.body.find(message_part), std::string::npos) << reply.body;
    }

    static std::unique_ptr<TempDir> plugins_;
    static std::unique_ptr<HostProcess> host_;
};

std::unique_ptr<TempDir> HttpFrontend::plugins_;
std::unique_ptr<HostProcess> HttpFrontend::host_;

TEST_F(HttpFrontend, BlackJpegIsDarkAndWhiteJpegIsLight)
{
    expect_classification(http_post(port(), "/score", "image/jpeg", black_jpeg()), "dark");
    expect_classification(http_post(port(), "/score", "image/jpeg", white_jpeg()), "light");
}

TEST_F(HttpFrontend, DarkClassificationOfABlackFrameIsCertain)
{
    const auto reply = http_post(port(), "/score", "image/jpeg", black_jpeg());
    EXPECT_NE(reply.body.find(R"("confidence":1.0)"), std::string::npos) << reply.body;
}

TEST_F(HttpFrontend, PngAndBmpAreDecoded)
{
    expect_classification(http_post(port(), "/score", "image/png", encode(flat(40, 30, 250), ".png")), "light");
    expect_classification(http_post(port(), "/score", "image/bmp", encode(flat(40, 30, 5), ".bmp")), "dark");
}

TEST_F(HttpFrontend, NamedAnalyzerPathReachesTheAnalyzer)
{
    expect_classification(http_post(port(), "/color_intensity", "image/jpeg", white_jpeg()), "light");
}

TEST_F(HttpFrontend, RawFramesInEveryDocumentedLayout)
{
    const std::string bgr(16 * 8 * 3, '\xF0');
    expect_classification(http_post(port(), "/score", "image/x-raw; width=16; height=8; format=bgr24", bgr), "light");
    // Padded rows: stride 64 for 16 RGB pixels (48 bytes).
    std::string padded(64 * 8, '\0');
    expect_classification(
        http_post(port(), "/score", "image/x-raw; width=16; height=8; format=rgb24; stride=64", padded), "dark");
    expect_classification(http_post(port(), "/score", "image/x-raw; width=10; height=10; format=gray8",
                                    std::string(100, '\xFF')),
                          "light");
    expect_classification(http_post(port(), "/score", "image/x-raw;format=BGRA;width=4;height=4",
                                    std::string(64, '\x01')),
                          "dark");
    expect_classification(http_post(port(), "/score", "image/x-raw; width=4; height=4; format=yuv420p",
                                    std::string(16, '\xEB') + std::string(8, '\x80')),
                          "light");
}

TEST_F(HttpFrontend, QueryParametersReachTheAnalyzer)
{
    // Mid-grey (128) is "light" at the default threshold 127 and "dark" at threshold 200.
    const auto grey = encode(flat(32, 32, 128), ".png");
    expect_classification(http_post(port(), "/score", "image/png", grey), "light");
    expect_classification(http_post(port(), "/score?threshold=200", "image/png", grey), "dark");
}

TEST_F(HttpFrontend, BadAnalyzerParameterIs400WithTheReason)
{
    expect_bad_request(http_post(port(), "/score?threshold=300", "image/jpeg", black_jpeg()), "threshold");
    expect_bad_request(http_post(port(), "/score?treshold=3", "image/jpeg", black_jpeg()), "unknown parameter 'treshold'");
}

TEST_F(HttpFrontend, EveryInferenceKindFollowsThePublishedSchema)
{
    const auto reply = http_post(port(), "/probe", "image/jpeg", black_jpeg());
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(schema_violation(reply.body), "");
    for (const char* kind : {"classification", "entity", "motion", "event", "text", "other"}) {
        EXPECT_NE(reply.body.find(std::string(R"("type":")") + kind + "\""), std::string::npos) << kind;
    }
    EXPECT_NE(reply.body.find(R"("value":"64x48")"), std::string::npos) << reply.body;
    EXPECT_NE(reply.body.find(R"("contentBytes":"cmF3")"), std::string::npos) << reply.body; // base64("raw")
    EXPECT_NE(reply.body.find(R"("relatedInferences":["cls-1"])"), std::string::npos) << reply.body;
}

TEST_F(HttpFrontend, OutOfRangeValuesFromAPluginAreClampedOrRefused)
{
    const auto reply = http_post(port(), "/probe?mode=wild", "image/jpeg", black_jpeg());
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(schema_violation(reply.body), "");
    EXPECT_NE(reply.body.find(R"("box":{"l":0.0,"t":0.8999999761581421,"w":1.0,"h":0.10000002384185791})"),
              std::string::npos)
        << reply.body;
}

TEST_F(HttpFrontend, NothingFoundIs204WithAnEmptyBody)
{
    const auto reply = http_post(port(), "/probe?mode=empty", "image/jpeg", black_jpeg());
    EXPECT_EQ(reply.status, 204);
    EXPECT_TRUE(reply.body.empty());
    EXPECT_EQ(reply.headers.count("content-length"), 0u) << "RFC 9110: no Content-Length on a 204";
    // Without a length the connection still stays open: a 204 and then a 200 on one connection.
    const auto jpeg = black_jpeg();
    const std::string post = "POST /probe?mode=empty HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                             std::to_string(jpeg.size()) + "\r\n\r\n" + jpeg;
    const auto replies = raw_exchange(port(), post + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                      std::chrono::seconds(10));
    const auto no_content = replies.find("HTTP/1.1 204");
    ASSERT_NE(no_content, std::string::npos) << replies;
    EXPECT_NE(replies.find("HTTP/1.1 200", no_content), std::string::npos) << replies;
}

TEST_F(HttpFrontend, AnalyzerFailureIs500WithItsMessage)
{
    const auto reply = http_post(port(), "/probe?mode=fail", "image/jpeg", black_jpeg());
    EXPECT_EQ(reply.status, 500);
    EXPECT_NE(reply.body.find("failure requested"), std::string::npos) << reply.body;
}

TEST_F(HttpFrontend, AnalyzerRefusingTheStreamIs400)
{
    expect_bad_request(http_post(port(), "/probe?mode=reject", "image/jpeg", black_jpeg()), "refuses every stream");
}

TEST_F(HttpFrontend, UnsupportedContentTypeIs400)
{
    expect_bad_request(http_post(port(), "/score", "text/plain", "hello"), "unsupported Content-Type");
    expect_bad_request(http_post(port(), "/score", "", black_jpeg()), "unsupported Content-Type");
}

TEST_F(HttpFrontend, EmptyBodyIs400)
{
    expect_bad_request(http_post(port(), "/score", "image/jpeg", ""), "empty body");
}

TEST_F(HttpFrontend, TruncatedImagesAre400)
{
    const auto jpeg = encode(flat(64, 64, 90), ".jpg");
    expect_bad_request(http_post(port(), "/score", "image/jpeg", jpeg.substr(0, jpeg.size() / 2)), "truncated JPEG");
    const auto png = encode(flat(64, 64, 90), ".png");
    expect_bad_request(http_post(port(), "/score", "image/png", png.substr(0, png.size() - 10)), "truncated PNG");
    const auto bmp = encode(flat(64, 64, 90), ".bmp");
    expect_bad_request(http_post(port(), "/score", "image/bmp", bmp.substr(0, 100)), "truncated BMP");
}

TEST_F(HttpFrontend, GarbageAndMislabelledImagesAre400)
{
    expect_bad_request(http_post(port(), "/score", "image/jpeg", std::string(500, 'x')), "not a JPEG");
    expect_bad_request(http_post(port(), "/score", "image/jpeg", encode(flat(8, 8, 0), ".png")), "is a PNG image");
    // A valid JPEG signature and end marker around garbage: no frame header, so never handed to the decoder.
    expect_bad_request(http_post(port(), "/score", "image/jpeg", "\xFF\xD8\xFF" + std::string(200, '\x13') + "\xFF\xD9"),
                       "corrupt JPEG: no readable image size");
    // A real PNG with its pixel data scrambled: the header is fine, OpenCV fails to decode it.
    auto png = encode(flat(32, 32, 0), ".png");
    for (std::size_t i = 41; i + 12 < png.size(); ++i) {
        png[i] = static_cast<char>(png[i] ^ 0x5A);
    }
    expect_bad_request(http_post(port(), "/score", "image/png", png), "cannot decode");
}

TEST_F(HttpFrontend, RawWithMissingOrLyingLayoutIs400)
{
    expect_bad_request(http_post(port(), "/score", "image/x-raw; height=8; format=bgr24", std::string(10, 'a')),
                       "'width'");
    expect_bad_request(http_post(port(), "/score", "image/x-raw; width=8; height=8; format=bgr24", std::string(10, 'a')),
                       "needs 192 bytes, got 10");
    expect_bad_request(http_post(port(), "/score", "image/x-raw; width=8; height=8; format=bgr24; stride=4",
                                 std::string(32, 'a')),
                       "smaller than one row");
    expect_bad_request(http_post(port(), "/score", "image/x-raw; width=8; height=8; format=cmyk", std::string(8, 'a')),
                       "'format'");
    expect_bad_request(http_post(port(), "/score", "image/x-raw; width=0; height=8; format=bgr24", std::string(8, 'a')),
                       "non-zero");
}

TEST_F(HttpFrontend, BodyOverTheLimitIs400)
{
    const auto reply = http_post(port(), "/score", "image/x-raw; width=1000; height=1000; format=bgr24",
                                 std::string(3000000, 'a'));
    expect_bad_request(reply, "exceeds the limit of 2000000 bytes");
}

TEST_F(HttpFrontend, ContentLengthLongerThanTheBodyIs400AfterTheTimeout)
{
    const auto reply = raw_exchange(port(),
                                    "POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                                    "Content-Length: 5000\r\n\r\nonly-a-few-bytes",
                                    std::chrono::seconds(10));
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
    EXPECT_NE(reply.find("shorter than its Content-Length"), std::string::npos) << reply;
}

TEST_F(HttpFrontend, ContentLengthShorterThanTheBodyLeavesGarbageThatIsRejected)
{
    const auto jpeg = black_jpeg();
    const auto reply = raw_exchange(port(),
                                    "POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                                        std::to_string(jpeg.size() / 2) + "\r\n\r\n" + jpeg,
                                    std::chrono::seconds(5));
    // The declared half is a truncated JPEG (400); the rest is not an HTTP request (400, then close).
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
    EXPECT_NE(reply.find("truncated JPEG"), std::string::npos) << reply;
    EXPECT_NE(reply.find("malformed HTTP request"), std::string::npos) << reply;
}

TEST_F(HttpFrontend, MalformedRequestLineIs400)
{
    const auto reply = raw_exchange(port(), "NOT HTTP AT ALL\r\n\r\n", std::chrono::seconds(5));
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
}

TEST_F(HttpFrontend, OtherMethodsAre405)
{
    const auto reply = http_request(port(), "PUT", "/score", "image/jpeg", black_jpeg());
    EXPECT_EQ(reply.status, 405);
    EXPECT_EQ(reply.headers.at("allow"), "POST");
    EXPECT_EQ(http_request(port(), "GET", "/score").status, 405);
}

TEST_F(HttpFrontend, UnknownPathIs404ListingTheRoutes)
{
    const auto reply = http_post(port(), "/nope", "image/jpeg", black_jpeg());
    EXPECT_EQ(reply.status, 404);
    EXPECT_NE(reply.body.find("/score"), std::string::npos) << reply.body;
    EXPECT_NE(reply.body.find("/color_intensity"), std::string::npos) << reply.body;
}

TEST_F(HttpFrontend, ClientRequestIdIsEchoed)
{
    const auto reply = http_post(port(), "/score", "image/jpeg", black_jpeg(),
                                 {{"x-ms-client-request-id", "d6050cd4-c9f2-42d3-9adc-53ba7e440f17"}});
    EXPECT_EQ(reply.headers.at("x-ms-client-request-id"), "d6050cd4-c9f2-42d3-9adc-53ba7e440f17");
    const auto error = http_post(port(), "/score", "text/plain", "x", {{"x-ms-client-request-id", "abc"}});
    EXPECT_EQ(error.headers.at("x-ms-client-request-id"), "abc");
}

TEST_F(HttpFrontend, HealthAndAnalyzerListing)
{
    const auto health = http_request(port(), "GET", "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, R"({"status":"ok"})");
    const auto listing = http_request(port(), "GET", "/analyzers");
    ASSERT_EQ(listing.status, 200);
    EXPECT_NE(listing.body.find(R"("name":"color_intensity","version":"1.0.0","abiVersion":"1.2")"), std::string::npos)
        << listing.body;
    EXPECT_NE(listing.body.find(R"("name":"probe")"), std::string::npos) << listing.body;
}

TEST_F(HttpFrontend, KeepAliveServesManyRequestsOnOneConnection)
{
    const auto jpeg = white_jpeg();
    std::string requests;
    for (int i = 0; i < 5; ++i) {
        requests += "POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                    std::to_string(jpeg.size()) + "\r\n\r\n" + jpeg;
    }
    requests += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const auto replies = raw_exchange(port(), requests, std::chrono::seconds(10));
    std::size_t count = 0;
    for (auto at = replies.find("HTTP/1.1 200"); at != std::string::npos; at = replies.find("HTTP/1.1 200", at + 1)) {
        ++count;
    }
    EXPECT_EQ(count, 6u) << replies;
}

TEST_F(HttpFrontend, ManyConcurrentConnectionsAllAnswered)
{
    std::vector<std::future<HttpReply>> replies;
    for (int i = 0; i < 32; ++i) {
        replies.push_back(std::async(std::launch::async, [i] {
            return http_post(port(), "/score", "image/jpeg", i % 2 == 0 ? black_jpeg() : white_jpeg());
        }));
    }
    for (std::size_t i = 0; i < replies.size(); ++i) {
        expect_classification(replies[i].get(), i % 2 == 0 ? "dark" : "light");
    }
}

// --- hosts with other settings -------------------------------------------------------------------

TEST(HttpOverload, BeyondMaxConcurrentFramesAnswers503WithRetryAfter)
{
    TempDir plugins;
    std::filesystem::copy(test_plugins_dir() / "libprobe.so", plugins.path() / "libprobe.so");
    HostProcess host({"--no-grpc", "--max-concurrent-frames", "2", "--workers", "2"}, plugins.path());
    const auto jpeg = black_jpeg();
    std::vector<std::future<HttpReply>> replies;
    for (int i = 0; i < 6; ++i) {
        replies.push_back(std::async(std::launch::async, [&] {
            return http_post(host.http_port(), "/probe?mode=slow", "image/jpeg", jpeg);
        }));
    }
    int ok = 0;
    int busy = 0;
    for (auto& r : replies) {
        const auto reply = r.get();
        if (reply.status == 200) {
            ++ok;
        } else {
            ASSERT_EQ(reply.status, 503) << reply.body;
            EXPECT_EQ(reply.headers.at("retry-after"), "1");
            ++busy;
        }
    }
    EXPECT_GE(ok, 2);
    EXPECT_GE(busy, 1);
    EXPECT_EQ(http_post(host.http_port(), "/probe?mode=slow", "image/jpeg", jpeg).status, 200);
}

TEST(HttpAuth, BasicAndBearerCredentialsAreChecked)
{
    HostProcess host({"--no-grpc", "--username", "ava", "--password", "s3cret", "--bearer-token", "tok-123"});
    const auto jpeg = black_jpeg();
    const auto port = host.http_port();
    EXPECT_EQ(http_post(port, "/score", "image/jpeg", jpeg).status, 401);
    EXPECT_EQ(http_post(port, "/score", "image/jpeg", jpeg, {{"Authorization", "Basic YXZhOnMzY3JldA=="}}).status, 200);
    EXPECT_EQ(http_post(port, "/score", "image/jpeg", jpeg, {{"Authorization", "Basic YXZhOndyb25n"}}).status, 401);
    EXPECT_EQ(http_post(port, "/score", "image/jpeg", jpeg, {{"Authorization", "Bearer tok-123"}}).status, 200);
    EXPECT_EQ(http_post(port, "/score", "image/jpeg", jpeg, {{"Authorization", "Bearer tok-124"}}).status, 401);
    const auto refused = http_post(port, "/score", "image/jpeg", jpeg, {{"Authorization", "Basic !!!"}});
    EXPECT_EQ(refused.status, 401);
    EXPECT_NE(refused.headers.at("www-authenticate").find("Basic"), std::string::npos);
    EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200); // liveness needs no credentials
}

TEST(HttpTls, ServesOverTls)
{
    TempDir dir;
    const auto cert = dir.path() / "cert.pem";
    const auto key = dir.path() / "key.pem";
    const std::string make_cert = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                                  key.string() + " -out " + cert.string() + " 2>/dev/null";
    ASSERT_EQ(std::system(make_cert.c_str()), 0);
    HostProcess host({"--no-grpc", "--tls-cert", cert.string(), "--tls-key", key.string()});
    const auto image = dir.path() / "white.jpg";
    cv::imwrite(image.string(), flat(32, 32, 255));
    const auto out = dir.path() / "out.json";
    const std::string curl = "curl -s --cacert " + cert.string() + " -o " + out.string() +
                             " -H 'Content-Type: image/jpeg' --data-binary @" + image.string() +
                             " https://127.0.0.1:" + std::to_string(host.http_port()) + "/score";
    ASSERT_EQ(std::system(curl.c_str()), 0);
    std::ifstream in(out);
    const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(body.find(R"("value":"light")"), std::string::npos) << body;
    EXPECT_EQ(schema_violation(body), "");
}

bool maps_image_codecs(pid_t pid)
{
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    const std::string all((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
    return all.find("libopencv_imgcodecs") != std::string::npos;
}

// OpenCV's codec library (and the GDAL/GDCM stack Debian builds it with) costs ~40 MiB resident: the host
// loads it on the first compressed frame, not at start, and raw frames never need it.
TEST(HttpImageCodecs, LoadedOnTheFirstCompressedFrameOnly)
{
    TempDir plugins;
    std::filesystem::copy(built_plugins_dir() / "libcolor_intensity.so", plugins.path() / "libcolor_intensity.so");
    HostProcess host({"--no-grpc"}, plugins.path());
    EXPECT_FALSE(maps_image_codecs(host.pid()));
    const std::string white_raw(16 * 8 * 3, '\xff');
    const auto raw = http_post(host.http_port(), "/score", "image/x-raw; width=16; height=8; format=bgr24", white_raw);
    EXPECT_EQ(raw.status, 200) << raw.body;
    EXPECT_FALSE(maps_image_codecs(host.pid()));
    for (const auto& [body, value] : {std::pair{white_jpeg(), "light"}, std::pair{black_jpeg(), "dark"}}) {
        const auto reply = http_post(host.http_port(), "/score", "image/jpeg", body);
        ASSERT_EQ(reply.status, 200) << reply.body;
        EXPECT_NE(reply.body.find(std::string(R"("value":")") + value + '"'), std::string::npos) << reply.body;
    }
    EXPECT_TRUE(maps_image_codecs(host.pid()));
}

TEST(HttpShutdown, SigtermFinishesTheRequestInFlight)
{
    TempDir plugins;
    std::filesystem::copy(test_plugins_dir() / "libprobe.so", plugins.path() / "libprobe.so");
    HostProcess host({"--no-grpc"}, plugins.path());
    auto reply = std::async(std::launch::async, [&] {
        return http_post(host.http_port(), "/probe?mode=slow", "image/jpeg", black_jpeg());
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the request is now in the analyzer
    ::kill(host.pid(), SIGTERM);
    EXPECT_EQ(reply.get().status, 200);
    EXPECT_EQ(host.terminate(), 0) << host.log();
}

} // namespace
} // namespace ava::test
