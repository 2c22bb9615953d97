// What deployments rely on, through the real host: several plugins folders (the bundled ones plus a site's
// own, from flags or the configuration file) and the --health-check mode a container HEALTHCHECK runs.
#include "host_process.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

namespace ava::test {
namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(PluginFolders, TwoFoldersServeTogetherAndTheFirstWinsAName)
{
    const TempDir bundled;
    const TempDir site;
    std::filesystem::copy(built_plugins_dir() / "libcolor_intensity.so", bundled.path() / "libcolor_intensity.so");
    std::filesystem::copy(built_plugins_dir() / "libmotion.so", site.path() / "libmotion.so");
    // Same analyzer name in the second folder: refused, the first folder's keeps serving.
    std::filesystem::copy(built_plugins_dir() / "libcolor_intensity.so", site.path() / "libcolor_copy.so");
    HostProcess host({"--no-grpc", "--plugins-dir", site.path().string()}, bundled.path());

    const auto listing = http_request(host.http_port(), "GET", "/analyzers");
    ASSERT_EQ(listing.status, 200) << listing.body;
    EXPECT_TRUE(has(listing.body, (bundled.path() / "libcolor_intensity.so").string())) << listing.body;
    EXPECT_TRUE(has(listing.body, (site.path() / "libmotion.so").string())) << listing.body;
    EXPECT_TRUE(has(host.log(), "already provided by " + (bundled.path() / "libcolor_intensity.so").string()))
        << host.log();

    // Both folders are watched: a plugin dropped into the second one starts serving.
    std::filesystem::copy(built_plugins_dir() / "libquality.so", site.path() / "libquality.so");
    bool loaded = false;
    for (int i = 0; i < 100 && !loaded; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        loaded = has(http_request(host.http_port(), "GET", "/analyzers").body, "libquality.so");
    }
    EXPECT_TRUE(loaded) << host.log();
}

TEST(PluginFolders, AMissingFolderDoesNotStopTheOthers)
{
    const TempDir bundled;
    std::filesystem::copy(built_plugins_dir() / "libcolor_intensity.so", bundled.path() / "libcolor_intensity.so");
    HostProcess host({"--no-grpc", "--plugins-dir", "/nonexistent/site-plugins"}, bundled.path());
    EXPECT_TRUE(has(host.log(), "cannot read the plugins folder")) << host.log();
    EXPECT_TRUE(has(http_request(host.http_port(), "GET", "/analyzers").body, "color_intensity"));
}

TEST(PluginFolders, ConfigurationNamesSeveralFoldersRelativeToItself)
{
    const TempDir dir;
    std::filesystem::create_directories(dir.path() / "a");
    std::filesystem::create_directories(dir.path() / "b");
    std::filesystem::copy(built_plugins_dir() / "libcolor_intensity.so", dir.path() / "a" / "libcolor_intensity.so");
    std::filesystem::copy(built_plugins_dir() / "libmotion.so", dir.path() / "b" / "libmotion.so");
    std::ofstream(dir.path() / "config.json") << R"({"pluginsDirs": ["a", "b"]})";
    auto [code, output] = run_host_command({"--check-config", (dir.path() / "config.json").string()});
    EXPECT_EQ(code, 0) << output;
    EXPECT_TRUE(has(output, "2 analyzer(s) loaded")) << output;

    std::ofstream(dir.path() / "both.json") << R"({"pluginsDir": "a", "pluginsDirs": ["b"]})";
    std::tie(code, output) = run_host_command({"--check-config", (dir.path() / "both.json").string()});
    EXPECT_NE(code, 0);
    EXPECT_TRUE(has(output, "either pluginsDir or pluginsDirs")) << output;
}

TEST(HealthCheck, ExitsZeroOnlyWhenTheHostAnswers200)
{
    HostProcess host({"--no-grpc"});
    const auto url = "http://127.0.0.1:" + std::to_string(host.http_port());
    auto [code, output] = run_host_command({"--health-check", url + "/healthz"});
    EXPECT_EQ(code, 0) << output;
    EXPECT_TRUE(has(output, "200")) << output;

    std::tie(code, output) = run_host_command({"--health-check", url + "/no-such-analyzer-path-for-get"});
    EXPECT_NE(code, 0) << output;

    host.terminate();
    std::tie(code, output) = run_host_command({"--health-check", url + "/healthz"});
    EXPECT_NE(code, 0) << output;
    EXPECT_TRUE(has(output, "cannot connect")) << output;

    std::tie(code, output) = run_host_command({"--health-check", "ftp://example/"});
    EXPECT_NE(code, 0) << output;
}

} // namespace
} // namespace ava::test
