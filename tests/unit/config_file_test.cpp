#include "runtime/config_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace ava::runtime {
namespace {

// Writes `json` to a file, applies it, and returns the error message ("" when accepted).
std::string error_of(const std::string& json, HostOptions* out = nullptr)
{
    const auto file = std::filesystem::temp_directory_path() / ("ava-config-test." + std::to_string(::getpid()) + ".json");
    std::ofstream(file) << json;
    HostOptions options;
    try {
        apply_config_file(file, options);
        options.config_file = file;
        validate(options);
    } catch (const ConfigError& e) {
        std::filesystem::remove(file);
        return e.what();
    }
    std::filesystem::remove(file);
    if (out != nullptr) {
        *out = options;
    }
    return "";
}

TEST(ConfigFile, AcceptsAFullConfiguration)
{
    HostOptions o;
    ASSERT_EQ(error_of(R"({
        // comments are allowed
        "bind": "127.0.0.1", "logLevel": "debug", "pluginsDir": "/opt/plugins",
        "http": {"port": 8081, "maxBodyBytes": 1000, "requestTimeoutMs": 500},
        "grpc": {"port": 5002, "maxMessageBytes": 10000000},
        "limits": {"maxConcurrentFrames": 8, "workers": 3, "retryAfterSeconds": 2},
        "credentials": {"username": "u", "password": "p"},
        "analyzers": {"faces": {"model": "haar"}},
        "defaultAnalyzer": "faces",
        "routes": [{"analyzer": "people", "httpPath": "/people-fast", "parameters": {"downscale": 0.5}},
                   {"analyzer": "motion", "pipeline": "lobby", "extensionConfiguration": "motion"}]
    })", &o), "");
    EXPECT_EQ(o.bind_address, "127.0.0.1");
    EXPECT_EQ(o.http_port, 8081);
    EXPECT_EQ(o.grpc_port, 5002);
    EXPECT_EQ(o.max_concurrent_frames, 8u);
    EXPECT_EQ(o.analyzer_configs.at("faces"), R"({"model":"haar"})");
    ASSERT_EQ(o.routes.routes.size(), 2u);
    EXPECT_EQ(o.routes.routes[0].parameters_json, R"({"downscale":0.5})");
    EXPECT_EQ(o.routes.routes[1].pipeline, "lobby");
    EXPECT_EQ(o.routes.default_analyzer, "faces");
}

TEST(ConfigFile, EveryErrorNamesThePathAndWhatWasExpected)
{
    EXPECT_NE(error_of("{ \"bind\": ").find("line 1: invalid JSON"), std::string::npos);
    EXPECT_NE(error_of(R"({"htp": {}})").find("$.htp: unknown key"), std::string::npos);
    EXPECT_NE(error_of(R"({"http": {"port": "80"}})").find("$.http.port: expected an integer from 0 to 65535"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"http": {"port": 70000}})").find("$.http.port"), std::string::npos);
    EXPECT_NE(error_of(R"({"routes": [{"httpPath": "/a"}]})").find("$.routes[0]: missing \"analyzer\""), std::string::npos);
    EXPECT_NE(error_of(R"({"routes": [{"analyzer": "a"}]})").find("at least one of"), std::string::npos);
    EXPECT_NE(error_of(R"({"routes": [{"analyzer": "a", "httpPath": "a"}]})").find("$.routes[0].httpPath"), std::string::npos);
    EXPECT_NE(error_of(R"({"logLevel": "loud"})").find("$.logLevel: expected one of"), std::string::npos);
    EXPECT_NE(error_of(R"({"http": {"port": 9000}, "grpc": {"port": 9000}})").find("cannot share port 9000"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"credentials": {"username": "u"}})").find("both a username and a password"), std::string::npos);
    EXPECT_NE(error_of(R"({"routes": [{"analyzer": "a", "httpPath": "/x"}, {"analyzer": "b", "httpPath": "/x"}]})")
                  .find("two routes claim HTTP path '/x'"),
              std::string::npos);
}

} // namespace
} // namespace ava::runtime
