// The configuration file through the real host: route precedence, re-reading on change and on SIGHUP,
// refusing a bad new file while the old configuration keeps serving, and --check-config's error messages.
#include "reload_support.h"

#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <thread>

namespace ava::test {
namespace {

using namespace std::chrono_literals;

// Routes whose answers say which route was taken: swap answers "v1/<tag>", probe answers "2x2".
std::string routes_config(const std::string& cam_tag, const std::string& extra = "")
{
    return R"({
  // the analyzer behind /score
  "defaultAnalyzer": "swap",
  "routes": [
    {"analyzer": "swap", "httpPath": "/cam", "parameters": {"tag": ")" + cam_tag + R"("}},
    {"analyzer": "swap", "pipeline": "lobby", "parameters": {"tag": "lobby"}},
    {"analyzer": "probe", "pipeline": "garage"}
  ])" + extra + "\n}\n";
}

class ConfigReload : public ::testing::Test {
protected:
    void SetUp() override
    {
        copy_over(test_plugin("swap_v1"), plugins_.path() / "libswap.so");
        copy_over(test_plugin("probe"), plugins_.path() / "libprobe.so");
    }

    void start(const std::string& config_text, const std::filesystem::path& config_path = {})
    {
        config_ = config_path.empty() ? config_dir_.path() / "host.json" : config_path;
        write_text(config_, config_text);
        host_ = std::make_unique<HostProcess>(std::vector<std::string>{"--no-grpc", "--config", config_.string()},
                                              plugins_.path());
    }

    std::uint16_t port() const { return host_->http_port(); }
    std::string cam() const { return answer(port(), "/cam"); }

    // Waits until the host counted one more config reload (or refusal) than `before`.
    bool counted(const char* group, std::uint64_t before) const
    {
        return eventually([&] { return counter(port(), group, "config") > before; });
    }

    std::string last_config_refusal() const
    {
        const auto doc = listing(port());
        return doc["lastRefusals"]["config"].IsString() ? doc["lastRefusals"]["config"].GetString() : "";
    }

    TempDir plugins_;
    TempDir config_dir_;
    std::filesystem::path config_;
    std::unique_ptr<HostProcess> host_;
};

TEST_F(ConfigReload, RoutePrecedenceIsPipelineThenPathThenDefault)
{
    start(routes_config("path"));
    const Headers lobby{{"x-ms-live-pipeline", "lobby"}};
    EXPECT_EQ(answer(port(), "/score"), "v1");                // the default analyzer
    EXPECT_EQ(answer(port(), "/swap"), "v1");                 // an analyzer's own path
    EXPECT_EQ(answer(port(), "/cam"), "v1/path");             // a path route over the default
    EXPECT_EQ(answer(port(), "/cam", lobby), "v1/lobby");     // a pipeline route (header) over the path route
    EXPECT_EQ(answer(port(), "/cam?pipeline=lobby"), "v1/lobby"); // ... or the query parameter
    EXPECT_EQ(answer(port(), "/score?pipeline=garage"), "2x2");   // a pipeline route to another analyzer
    EXPECT_EQ(answer(port(), "/cam?pipeline=elsewhere"), "v1/path"); // an unrouted pipeline: the path decides
    EXPECT_EQ(answer(port(), "/cam?tag=request"), "v1/request"); // request parameters over route parameters
    EXPECT_EQ(answer(port(), "/nowhere").substr(0, 8), "HTTP 404");
}

// A new file applies to new requests, whether written in place or renamed over the old one; a request in
// flight keeps the route it started with.
TEST_F(ConfigReload, FileChangeAppliesNewRoutesToNewRequestsOnly)
{
    start(routes_config("a"));
    ASSERT_EQ(cam(), "v1/a");
    auto slow = std::async(std::launch::async, [&] { return answer(port(), "/cam?delay_ms=1500"); });
    std::this_thread::sleep_for(300ms);
    write_text(config_, routes_config("b"));
    ASSERT_TRUE(eventually([&] { return cam() == "v1/b"; })) << host_->log();
    EXPECT_EQ(slow.get(), "v1/a");

    write_text(config_, routes_config("c"), /*by_rename=*/true);
    ASSERT_TRUE(eventually([&] { return cam() == "v1/c"; })) << host_->log();
    EXPECT_EQ(counter(port(), "reloads", "config"), 2u);
    EXPECT_NE(host_->log().find("configuration reloaded from " + config_.string() + " (file change): 3 route(s)"),
              std::string::npos)
        << host_->log();
}

// The watcher sees the folder the configuration path is in; a symlink's target elsewhere changes unseen,
// and SIGHUP is how to say so.
TEST_F(ConfigReload, SighupRereadsTheFile)
{
    TempDir elsewhere;
    const auto target = elsewhere.path() / "real.json";
    write_text(target, routes_config("a"));
    const auto link = config_dir_.path() / "host.json";
    std::filesystem::create_symlink(target, link);
    host_ = std::make_unique<HostProcess>(std::vector<std::string>{"--no-grpc", "--config", link.string()},
                                          plugins_.path());
    config_ = link;
    ASSERT_EQ(cam(), "v1/a");
    write_text(target, routes_config("b"));
    std::this_thread::sleep_for(600ms);
    EXPECT_EQ(cam(), "v1/a") << "nothing told the host yet";
    ASSERT_EQ(::kill(host_->pid(), SIGHUP), 0);
    ASSERT_TRUE(eventually([&] { return cam() == "v1/b"; })) << host_->log();
    EXPECT_NE(host_->log().find("(SIGHUP)"), std::string::npos) << host_->log();
    EXPECT_TRUE(host_->running());
}

// Every kind of bad new file is refused with the file, the JSON path and what was expected; the running
// configuration keeps serving. Restart-only settings that changed are named in a warning.
TEST_F(ConfigReload, BadNewFileIsRefusedAndTheOldConfigurationStays)
{
    start(routes_config("a"));
    ASSERT_EQ(cam(), "v1/a");
    const std::vector<std::pair<std::string, std::string>> bad{
        {R"({"routes": [)", "line 1: invalid JSON"},
        {routes_config("x", R"(, "limitz": {})"), "$.limitz: unknown key (expected one of: "},
        {routes_config("x", R"(, "logLevel": 3)"), "$.logLevel: expected a string"},
        {R"({"routes": [{"analyzer": "nope", "httpPath": "/cam"}]})",
         "$.routes[0].analyzer: expected a loaded analyzer, but 'nope' is not loaded from"},
        {routes_config("x", R"(, "analyzers": {"swap": {"fail": true}})"),
         "$.analyzers.swap: the analyzer refused this configuration: swap: create failed: swap: the configuration "
         "asks create() to fail"},
    };
    std::uint64_t refusals = 0;
    for (const auto& [text, expected] : bad) {
        write_text(config_, text);
        ASSERT_TRUE(counted("refusals", refusals)) << text << "\n" << host_->log();
        ++refusals;
        const auto message = last_config_refusal();
        EXPECT_EQ(message.rfind(config_.string() + ": ", 0), 0u) << message;
        EXPECT_NE(message.find(expected), std::string::npos) << message;
        EXPECT_EQ(cam(), "v1/a");
    }
    EXPECT_NE(host_->log().find("the running configuration stays in force"), std::string::npos);
    EXPECT_EQ(counter(port(), "reloads", "config"), 0u);

    // A good file applies, and says which of its changes need a restart.
    write_text(config_, routes_config("b", R"(, "limits": {"maxConcurrentFrames": 3}, "logLevel": "debug")"));
    ASSERT_TRUE(eventually([&] { return cam() == "v1/b"; })) << host_->log();
    EXPECT_NE(host_->log().find("limits.maxConcurrentFrames changed, but takes effect only when the host restarts"),
              std::string::npos)
        << host_->log();
}

TEST_F(ConfigReload, AnalyzerConfigurationChangeMakesANewInstance)
{
    start(routes_config("a", R"(, "analyzers": {"swap": {"suffix": "red"}})"));
    ASSERT_EQ(answer(port(), "/swap"), "v1+red");
    write_text(config_, routes_config("a", R"(, "analyzers": {"swap": {"suffix": "blue"}})"), true);
    ASSERT_TRUE(eventually([&] { return answer(port(), "/swap") == "v1+blue"; })) << host_->log();
    EXPECT_EQ(cam(), "v1/a+blue");
    // The old instance drains and is destroyed; the library stays (the new instance uses it).
    ASSERT_TRUE(eventually([&] { return host_->log().find("previous instance drained") != std::string::npos; }));
    EXPECT_EQ(answer(port(), "/swap"), "v1+blue");
}

TEST_F(ConfigReload, AdminReloadReportsTheConfiguration)
{
    start(routes_config("a"));
    const auto reply = http_request(port(), "POST", "/admin/reload");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_NE(reply.body.find(R"("applied":true,"error":null,"restartRequired":[])"), std::string::npos) << reply.body;
}

// --check-config: every kind of error in the file exits non-zero naming the file, the JSON path and what
// was expected; a good file exits 0.
TEST(CheckConfig, EveryErrorKindFailsWithFileAndPath)
{
    TempDir dir;
    copy_over(test_plugin("swap_v1"), dir.path() / "libswap.so");
    const auto file = dir.path() / "host.json";
    const auto check = [&](const std::string& text) {
        write_text(file, text);
        return run_host_command({"--check-config", file.string(), "--plugins-dir", dir.path().string()});
    };
    const std::vector<std::pair<std::string, std::string>> cases{
        {"{\n  \"routes\": [\n", "line 3: invalid JSON"},
        {R"({"htttp": {}})", "$.htttp: unknown key (expected one of: bind, pluginsDir"},
        {R"({"routes": [{"analyzer": "nope", "httpPath": "/x"}]})",
         "$.routes[0].analyzer: expected a loaded analyzer, but 'nope' is not loaded from " + dir.path().string() +
             " (loaded: swap)"},
        {R"({"defaultAnalyzer": "nope"})", "$.defaultAnalyzer: expected a loaded analyzer"},
        {R"({"http": {"port": "8080"}})", "$.http.port: expected an integer from 0 to 65535"},
        {R"({"http": {"port": 9000}, "grpc": {"port": 9000}})",
         "$.grpc.port: HTTP and gRPC cannot share port 9000 (expected a port other than $.http.port)"},
        {R"({"routes": [{"analyzer": "swap", "httpPath": "/admin/x"}]})", "$.routes[0].httpPath: expected a URL path outside /admin/"},
        {R"({"routes": [{"analyzer": "swap", "httpPath": "/x", "overload": "drop"}]})",
         "$.routes[0].overload: expected \"queue\" or \"latest\""},
    };
    for (const auto& [text, expected] : cases) {
        const auto [status, output] = check(text);
        EXPECT_NE(status, 0) << text;
        EXPECT_NE(output.find(file.string() + ": "), std::string::npos) << output;
        EXPECT_NE(output.find(expected), std::string::npos) << output;
    }
    const auto [status, output] = check(routes_config("ok")); // names probe, which is not in the folder
    EXPECT_NE(status, 0) << output;
    EXPECT_NE(output.find("$.routes[2].analyzer"), std::string::npos) << output;
    const auto [good_status, good_output] = check(R"({"defaultAnalyzer": "swap", "routes": [{"analyzer": "swap", "pipeline": "p"}]})");
    EXPECT_EQ(good_status, 0) << good_output;
    EXPECT_NE(good_output.find("valid"), std::string::npos) << good_output;
}

TEST(CheckConfig, ExampleConfigurationIsValid)
{
    const auto [status, output] =
        run_host_command({"--check-config", AVA_TEST_EXAMPLE_CONFIG, "--plugins-dir", built_plugins_dir().string()});
    EXPECT_EQ(status, 0) << output;
}

} // namespace
} // namespace ava::test
