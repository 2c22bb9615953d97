// Plugin loading through the real host: real .so files (good, foreign ABI, no entry symbol, not ELF,
// truncated, duplicate name) in one plugins folder; the bad ones are refused with a clear line each and
// the good ones serve.
#include "host_process.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <vector>

namespace ava::test {
namespace {

const std::string tiny_bmp_black = [] {
    // 2x2 24-bit BMP, all black: header (54 bytes) + 2 rows of 8 bytes (6 pixel bytes + 2 padding).
    std::string bmp = "BM";
    const auto le32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) bmp.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    };
    const auto le16 = [&](std::uint16_t v) {
        bmp.push_back(static_cast<char>(v & 0xFF));
        bmp.push_back(static_cast<char>(v >> 8));
    };
    le32(70); le32(0); le32(54); le32(40); le32(2); le32(2); le16(1); le16(24); le32(0); le32(16);
    le32(2835); le32(2835); le32(0); le32(0);
    bmp.append(16, '\0');
    return bmp;
}();

class PluginLoading : public ::testing::Test {
protected:
    void SetUp() override
    {
        const auto dir = plugins_.path();
        std::filesystem::copy(built_plugins_dir() / "libcolor_intensity.so", dir / "libcolor_intensity.so");
        std::filesystem::copy(test_plugins_dir() / "libprobe.so", dir / "libprobe.so");
        std::filesystem::copy(test_plugins_dir() / "libprobe_abi2.so", dir / "libprobe_abi2.so");
        std::filesystem::copy(test_plugins_dir() / "libno_entry.so", dir / "libno_entry.so");
        // The same analyzer twice: the second file must be refused, not silently replace the first.
        std::filesystem::copy(test_plugins_dir() / "libprobe.so", dir / "libprobe_copy.so");
        std::ofstream(dir / "libnot_elf.so") << "this is not a shared library\n";
        std::ifstream real(test_plugins_dir() / "libprobe.so", std::ios::binary);
        std::string head(200, '\0');
        real.read(head.data(), static_cast<std::streamsize>(head.size()));
        std::ofstream(dir / "libtruncated.so", std::ios::binary) << head;
        std::ofstream(dir / "README.txt") << "not a plugin, ignored\n";
    }
    TempDir plugins_;
};

// A declared input (ABI 1.2) is the plugin's word, checked like any other: in the host's own process, and
// again when an analyzer worker reports it.
TEST_F(PluginLoading, BadInputDeclarationsAreRefusedInBothIsolationModes)
{
    std::filesystem::copy(test_plugins_dir() / "libprobe_badformat.so", plugins_.path() / "libprobe_badformat.so");
    std::filesystem::copy(test_plugins_dir() / "libprobe_badexact.so", plugins_.path() / "libprobe_badexact.so");
    for (const char* isolation : {"process", "none"}) {
        SCOPED_TRACE(isolation);
        HostProcess host({"--no-grpc", "--isolation", isolation}, plugins_.path());
        const auto log = host.log();
        EXPECT_NE(log.find("libprobe_badformat.so: refused: descriptor's input: input_pixel_formats names no pixel "
                           "format this host delivers"),
                  std::string::npos)
            << log;
        EXPECT_NE(log.find("libprobe_badexact.so: refused: descriptor's input: AVA_INPUT_EXACT_SIZE needs "
                           "input_min_width and input_min_height"),
                  std::string::npos)
            << log;
        EXPECT_EQ(http_post(host.http_port(), "/probe", "image/bmp", tiny_bmp_black).status, 200);
    }
}

TEST_F(PluginLoading, BrokenPluginsAreRefusedAndGoodOnesServe)
{
    HostProcess host({"--no-grpc"}, plugins_.path());
    const auto log = host.log();
    EXPECT_NE(log.find("libprobe_abi2.so: refused: built for plugin ABI 2.2, this host implements ABI 1.2"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("libno_entry.so: refused: no entry symbol 'ava_plugin_entry'"), std::string::npos) << log;
    EXPECT_NE(log.find("libnot_elf.so: refused: not an ELF shared library"), std::string::npos) << log;
    EXPECT_NE(log.find("libtruncated.so: refused: cannot load"), std::string::npos) << log;
    EXPECT_NE(log.find("libprobe_copy.so: refused: analyzer name 'probe' is already provided"), std::string::npos) << log;
    EXPECT_NE(log.find("2 analyzer(s) loaded"), std::string::npos) << log;
    EXPECT_EQ(log.find("README.txt"), std::string::npos) << log;

    // The C plugin answers; the C++ one too.
    const auto probe = http_post(host.http_port(), "/probe", "image/bmp", tiny_bmp_black);
    ASSERT_EQ(probe.status, 200) << probe.body;
    EXPECT_NE(probe.body.find(R"("value":"2x2")"), std::string::npos) << probe.body;
    const auto color = http_post(host.http_port(), "/score", "image/bmp", tiny_bmp_black);
    ASSERT_EQ(color.status, 200) << color.body;
    EXPECT_NE(color.body.find(R"("value":"dark")"), std::string::npos) << color.body;

    const auto listing = http_request(host.http_port(), "GET", "/analyzers");
    EXPECT_EQ(listing.body.find("probe_abi2"), std::string::npos) << listing.body;
}

TEST_F(PluginLoading, LoadedLibrariesAreShadowCopiesSoTheFolderCanBeOverwritten)
{
    HostProcess host({"--no-grpc"}, plugins_.path());
    // Overwrite the file in the plugins folder while the host runs: the mapped code is a private copy.
    std::ofstream(plugins_.path() / "libprobe.so", std::ios::trunc) << "overwritten";
    const auto probe = http_post(host.http_port(), "/probe", "image/bmp", tiny_bmp_black);
    EXPECT_EQ(probe.status, 200) << probe.body;
    const auto mapped = maps_of_host_and_workers(host.pid());
    EXPECT_EQ(mapped.find((plugins_.path() / "libprobe.so").string()), std::string::npos);
    EXPECT_NE(mapped.find("libprobe."), std::string::npos); // the shadow copy
}

// A SERIAL plugin's calls never overlap: every HTTP request opens a session, processes and closes it, and
// with several workers those three calls of different requests would interleave unless the host holds one
// lock per instance around all of them. The plugin itself detects an overlap and reports it.
TEST(PluginConcurrency, SerialPluginCallsNeverOverlap)
{
    TempDir plugins;
    std::filesystem::copy(test_plugins_dir() / "libserial_probe.so", plugins.path() / "libserial_probe.so");
    HostProcess host({"--no-grpc", "--workers", "4"}, plugins.path());
    for (int round = 0; round < 3; ++round) {
        std::vector<std::future<HttpReply>> replies;
        for (int i = 0; i < 16; ++i) {
            replies.push_back(std::async(std::launch::async, [&host] {
                return http_post(host.http_port(), "/serial_probe", "image/bmp", tiny_bmp_black);
            }));
        }
        for (auto& reply : replies) {
            const auto r = reply.get();
            ASSERT_EQ(r.status, 200) << r.body;
            EXPECT_NE(r.body.find(R"("value":"serial")"), std::string::npos) << r.body;
        }
    }
}

TEST(PluginFolder, MissingFolderIsReportedAndTheHostStillAnswers)
{
    HostProcess host({"--no-grpc"}, "/nonexistent/plugins");
    EXPECT_NE(host.log().find("cannot read the plugins folder"), std::string::npos) << host.log();
    EXPECT_EQ(http_post(host.http_port(), "/score", "image/bmp", tiny_bmp_black).status, 404);
}

} // namespace
} // namespace ava::test
