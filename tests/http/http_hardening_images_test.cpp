// Issue 10, items 3, 6 and 7 through the real host: decompression bombs (JPEG, PNG, BMP) are refused at
// the size the decoder reads while a normal client keeps being served; invalid UTF-8 from an analyzer
// becomes valid JSON; an analyzer's oversized answer is its error, not a giant body.

#include "host_process.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace ava::test {
namespace {

std::string encoded(const std::string& extension, int width = 32, int height = 16)
{
    std::vector<std::uint8_t> bytes;
    EXPECT_TRUE(cv::imencode(extension, cv::Mat(height, width, CV_8UC3, cv::Scalar(10, 20, 30)), bytes));
    return {bytes.begin(), bytes.end()};
}

void put_be(std::string& b, std::size_t at, std::uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; ++i) {
        b[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
    }
}

void put_le32(std::string& b, std::size_t at, std::uint32_t v)
{
    for (std::size_t i = 0; i < 4; ++i) {
        b[at + i] = static_cast<char>(v >> (8 * i));
    }
}

std::uint32_t crc32(const std::string& data, std::size_t at, std::size_t size)
{
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t i = at; i < at + size; ++i) {
        crc ^= static_cast<std::uint8_t>(data[i]);
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

// `FF 00 00 06` after SOI: junk libjpeg skips, but a naive header scan reads it as a 6-byte segment and
// lands inside the following COM segment, on a fake 16x16 SOF. libjpeg uses the real SOF0: 30000x30000.
std::string jpeg_bomb()
{
    auto real = encoded(".jpg");
    const auto sof = real.find("\xFF\xC0", 2);
    put_be(real, sof + 5, 30000, 2);
    put_be(real, sof + 7, 30000, 2);
    const std::string fake_sof("\xFF\xC0\x00\x11\x08\x00\x10\x00\x10\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 19);
    std::string bomb("\xFF\xD8\xFF\x00\x00\x06\xFF\xFE\x00", 9);
    bomb += static_cast<char>(2 + fake_sof.size());
    return bomb + fake_sof + real.substr(2);
}

std::string png_bomb()
{
    auto png = encoded(".png");
    put_be(png, 16, 100000, 4);
    put_be(png, 20, 100000, 4);
    put_be(png, 29, crc32(png, 12, 17), 4);
    return png;
}

std::string bmp_bomb()
{
    auto bmp = encoded(".bmp");
    put_le32(bmp, 18, 30000);
    put_le32(bmp, 22, static_cast<std::uint32_t>(-30000));
    return bmp;
}

// The host's peak resident memory, in bytes.
std::uint64_t peak_rss(pid_t pid)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::stoull(line.substr(6)) * 1024;
        }
    }
    ADD_FAILURE() << "no VmHWM for " << pid;
    return 0;
}

constexpr std::uint64_t rss_ceiling = std::uint64_t{1} << 30;

class HardeningImages : public ::testing::Test {
protected:
    HardeningImages() { copy_plugins(plugins_.path(), {"libprobe.so"}); }
    TempDir plugins_;
};

TEST_F(HardeningImages, BombsAreRefusedWhileANormalClientIsServed)
{
    HostProcess host({"--no-grpc"}, plugins_.path());
    const auto normal = encoded(".jpg", 640, 480);
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    std::atomic<int> failed{0};
    std::thread client([&] {
        while (!stop) {
            const auto reply = http_post(host.http_port(), "/probe", "image/jpeg", normal);
            (reply.status == 200 ? answered : failed)++;
        }
    });
    for (int round = 0; round < 3; ++round) {
        for (const auto& [bomb, type, size] : {std::tuple{jpeg_bomb(), "image/jpeg", "30000x30000"},
                                               std::tuple{png_bomb(), "image/png", "100000x100000"},
                                               std::tuple{bmp_bomb(), "image/bmp", "30000x30000"}}) {
            const auto started = std::chrono::steady_clock::now();
            const auto reply = http_post(host.http_port(), "/probe", type, bomb);
            const auto took = std::chrono::steady_clock::now() - started;
            EXPECT_EQ(reply.status, 400) << type << ": " << reply.body;
            EXPECT_NE(reply.body.find(std::string(size) + " pixels, over the limit"), std::string::npos) << reply.body;
            EXPECT_LT(took, std::chrono::milliseconds(500)) << type;
        }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
    client.join();
    EXPECT_GT(answered.load(), 0);
    EXPECT_EQ(failed.load(), 0);
    EXPECT_TRUE(host.running()) << host.log();
    EXPECT_LT(peak_rss(host.pid()), rss_ceiling);
}

bool valid_utf8_json(const std::string& body)
{
    rapidjson::Document document;
    document.Parse<rapidjson::kParseValidateEncodingFlag>(body.c_str(), body.size());
    return !document.HasParseError();
}

TEST_F(HardeningImages, InvalidUtf8FromAnAnalyzerBecomesValidJson)
{
    HostProcess host({"--no-grpc"}, plugins_.path());
    const auto reply = http_post(host.http_port(), "/probe?mode=badutf8", "image/jpeg", encoded(".jpg"));
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_TRUE(valid_utf8_json(reply.body)) << reply.body;
    EXPECT_NE(reply.body.find("bad\xEF\xBF\xBD"), std::string::npos) << reply.body;
    EXPECT_EQ(schema_violation(reply.body), "");
    EXPECT_NE(host.log().find("invalid UTF-8"), std::string::npos) << host.log();
}

// Whether the analyzer passes the host's refusal on or ignores it, the frame is the analyzer's failure.
TEST_F(HardeningImages, OversizedAnswerIsTheAnalyzersError)
{
    HostProcess host({"--no-grpc"}, plugins_.path());
    for (const char* mode : {"huge", "hugeignored"}) {
        const auto reply = http_post(host.http_port(), std::string("/probe?mode=") + mode, "image/jpeg", encoded(".jpg"));
        EXPECT_EQ(reply.status, 500) << mode << ": " << reply.body.substr(0, 300);
        EXPECT_LT(reply.body.size(), 4096u) << mode;
        EXPECT_NE(reply.body.find("takes the answer over its cap of 4194304 bytes"), std::string::npos)
            << mode << ": " << reply.body.substr(0, 300);
    }
    EXPECT_EQ(http_post(host.http_port(), "/probe", "image/jpeg", encoded(".jpg")).status, 200);
    EXPECT_TRUE(host.running()) << host.log();
    EXPECT_LT(peak_rss(host.pid()), rss_ceiling);
}

} // namespace
} // namespace ava::test
