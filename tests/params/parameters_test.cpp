// ABI 1.1's parameters, through the real host binary in both isolation modes, over real HTTP and gRPC:
// the host checks configuration and stream parameters against the schemas a plugin declares before the
// plugin is called, shows the schemas in /analyzers, refuses a plugin whose schema is not one, hands C
// plugins the layered values through typed getters, and still loads and serves a real ABI 1.0 plugin.

#include "host_process.h"
#include "stream_client.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

namespace ava::test {
namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const std::string raw_type = "image/x-raw; width=8; height=6; format=bgr24";
const std::string frame(8 * 6 * 3, '\x40');

// The properties of the params_probe's "parameters" event in an HTTP answer.
std::map<std::string, std::string> reported(const std::string& body)
{
    std::map<std::string, std::string> out;
    rapidjson::Document document;
    document.Parse(body.c_str());
    if (document.HasParseError() || !document.IsObject() || !document.HasMember("inferences")) {
        return out;
    }
    for (const auto& inference : document["inferences"].GetArray()) {
        if (inference.HasMember("event")) {
            for (const auto& property : inference["event"]["properties"].GetObject()) {
                out[property.name.GetString()] = property.value.GetString();
            }
        }
    }
    return out;
}

class Parameters : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override
    {
        copy_plugins(plugins_.path(), {"libparams_probe.so", "libparams_bad.so", "libprobe_v10.so"});
        config_ = config_dir_.path() / "config.json";
        std::ofstream(config_) << R"({"analyzers": {"params_probe": {"threshold": 100, "label": "from-config"}}})";
        host_ = std::make_unique<HostProcess>(
            std::vector<std::string>{"--isolation", GetParam(), "--config", config_.string()}, plugins_.path());
    }
    void TearDown() override { EXPECT_TRUE(host_->running()) << host_->log(); }

    HttpReply post(const std::string& target) { return http_post(host_->http_port(), target, raw_type, frame); }
    // How many streams the plugin instance was asked to open so far (one per HTTP request).
    std::string opens()
    {
        const auto reply = post("/params_probe");
        EXPECT_EQ(reply.status, 200) << reply.body;
        return reported(reply.body)["opens"];
    }

    TempDir plugins_;
    TempDir config_dir_;
    std::filesystem::path config_;
    std::unique_ptr<HostProcess> host_;
};

TEST_P(Parameters, TypedGettersLayerStreamValuesOverTheConfiguration)
{
    // Query values typed as the host types them: "12" a number, "true" a boolean, "7" an integer.
    auto reply = post("/params_probe?threshold=12&enabled=true&count=7");
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto values = reported(reply.body);
    EXPECT_EQ(values["threshold"], "12");        // the stream's value over the configuration's 100
    EXPECT_EQ(values["label"], "from-config");   // only the configuration sets it
    EXPECT_EQ(values["enabled"], "true");
    EXPECT_EQ(values["count"], "7");
    EXPECT_EQ(values["created"], "getters");     // create_with_parameters, not create
    EXPECT_EQ(values["statuses"], "label-as-integer=2 missing=1 null-name=3");

    // Nothing from the stream: the configuration's values; what nobody sets is not found.
    reply = post("/params_probe");
    ASSERT_EQ(reply.status, 200) << reply.body;
    values = reported(reply.body);
    EXPECT_EQ(values["threshold"], "100");
    EXPECT_EQ(values["enabled"], "none");
    EXPECT_EQ(values["count"], "none");
}

TEST_P(Parameters, BadQueryParameterIsTheHostsBadRequestAndNeverReachesThePlugin)
{
    const auto before = std::stoul(opens());
    auto reply = post("/params_probe?threshold=abc");
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_TRUE(has(reply.body, R"(analyzer 'params_probe': parameter 'threshold': must be a number between 0 and 255 (got \"abc\"))"))
        << reply.body;
    EXPECT_TRUE(has(reply.body, "\"code\":\"BadRequest\"")) << reply.body;

    reply = post("/params_probe?threshold=256");
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_TRUE(has(reply.body, "must be a number between 0 and 255 (got 256)")) << reply.body;

    reply = post("/params_probe?treshold=1");
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_TRUE(has(reply.body, "unknown parameter 'treshold' (known: threshold, label, enabled, count)")) << reply.body;

    reply = post("/params_probe?count=2.5");
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_TRUE(has(reply.body, "parameter 'count': must be an integer between 1 and 100 (got 2.5)")) << reply.body;

    // Only the two good requests opened a stream in the plugin.
    EXPECT_EQ(std::stoul(opens()), before + 1);
}

TEST_P(Parameters, BadExtensionConfigurationParameterIsInvalidArgument)
{
    {
        StreamClient client(make_channel(host_->grpc_port()));
        DescriptorSpec spec;
        spec.extension_configuration = R"({"analyzer":"params_probe","parameters":{"enabled":"yes"}})";
        client.send(descriptor_message(spec));
        const auto status = client.drain_and_finish();
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
        EXPECT_TRUE(has(status.error_message(),
                        R"(analyzer 'params_probe': parameter 'enabled': must be true or false (got "yes"))"))
            << status.error_message();
    }
    // A good one: the stream's parameters over the configuration, through the getters in the plugin.
    StreamClient client(make_channel(host_->grpc_port()));
    DescriptorSpec spec;
    spec.width = 8;
    spec.height = 6;
    spec.extension_configuration = R"({"analyzer":"params_probe","parameters":{"label":"grpc","count":3}})";
    MediaStreamMessage message;
    ASSERT_TRUE(client.send(descriptor_message(spec)));
    ASSERT_TRUE(client.read(message));
    ASSERT_TRUE(client.send(embedded_sample(2, 0, frame)));
    ASSERT_TRUE(client.read(message));
    ASSERT_EQ(message.media_sample().inferences_size(), 1);
    const auto& properties = message.media_sample().inferences(0).event().properties();
    EXPECT_EQ(properties.at("label"), "grpc");
    EXPECT_EQ(properties.at("count"), "3");
    EXPECT_EQ(properties.at("threshold"), "100");
    ASSERT_TRUE(client.writes_done());
    EXPECT_TRUE(client.finish().ok());
}

TEST_P(Parameters, AnalyzersListsTheSchemasAndTheRefusalOfAnInvalidOne)
{
    const auto body = http_request(host_->http_port(), "GET", "/analyzers").body;
    rapidjson::Document listing;
    listing.Parse(body.c_str());
    ASSERT_FALSE(listing.HasParseError()) << body;
    std::map<std::string, const rapidjson::Value*> analyzers;
    for (const auto& analyzer : listing["analyzers"].GetArray()) {
        analyzers[analyzer["name"].GetString()] = &analyzer;
    }
    ASSERT_TRUE(analyzers.count("params_probe")) << body;
    const auto& probe = *analyzers["params_probe"];
    EXPECT_STREQ(probe["abiVersion"].GetString(), "1.2");
    ASSERT_TRUE(probe["parametersSchema"].IsObject()) << body;
    EXPECT_EQ(probe["parametersSchema"]["properties"]["threshold"]["maximum"].GetInt(), 255);
    EXPECT_FALSE(probe["parametersSchema"]["additionalProperties"].GetBool());
    ASSERT_TRUE(probe["configurationSchema"].IsObject()) << body;
    EXPECT_STREQ(probe["configurationSchema"]["properties"]["label"]["type"].GetString(), "string");

    ASSERT_TRUE(analyzers.count("probe_v10")) << body;
    EXPECT_STREQ((*analyzers["probe_v10"])["abiVersion"].GetString(), "1.0");
    EXPECT_TRUE((*analyzers["probe_v10"])["parametersSchema"].IsNull());
    EXPECT_TRUE((*analyzers["probe_v10"])["configurationSchema"].IsNull());

    // The plugin declaring a schema that is not one is refused, saying which field and what is wrong.
    EXPECT_FALSE(analyzers.count("params_bad")) << body;
    const std::string refusal = listing["lastRefusals"]["plugins"].GetString();
    EXPECT_TRUE(has(refusal, "libparams_bad.so: refused: descriptor field 'parameters_schema': the schema is not a "
                             "valid JSON Schema (draft-04)"))
        << refusal;
    EXPECT_TRUE(has(host_->log(), "descriptor field 'parameters_schema'")) << host_->log();
    EXPECT_EQ(post("/params_bad").status, 404);
}

TEST_P(Parameters, ReloadedConfigurationAgainstTheSchemaIsRefusedAndTheOldOneKeepsServing)
{
    std::ofstream(config_) << R"({"analyzers": {"params_probe": {"threshold": "high"}}})";
    http_request(host_->http_port(), "POST", "/admin/reload"); // the file watcher may have been first: either says
    ASSERT_TRUE(eventually([&] {
        return has(http_request(host_->http_port(), "GET", "/analyzers").body,
                   R"(analyzer 'params_probe': configuration: parameter 'threshold': must be a number between 0 and 255 (got \"high\"))");
    })) << http_request(host_->http_port(), "GET", "/analyzers").body;
    const auto reply = post("/params_probe");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reported(reply.body)["threshold"], "100");
}

TEST_P(Parameters, AbiOnePointZeroPluginStillLoadsAndServes)
{
    auto reply = post("/probe_v10");
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_TRUE(has(reply.body, "\"value\":\"8x6\"")) << reply.body;
    EXPECT_EQ(schema_violation(reply.body), "");
    // Its own parameter handling still works: no schema, so the plugin itself refuses.
    reply = post("/probe_v10?mode=reject");
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_TRUE(has(reply.body, "refuses every stream")) << reply.body;
}

INSTANTIATE_TEST_SUITE_P(Isolation, Parameters, ::testing::Values("process", "none"));

// A configuration the plugin's configuration schema refuses never reaches create(): the host refuses it.
TEST(ParametersConfiguration, ConfigurationAgainstTheSchemaIsCheckedBeforeCreate)
{
    TempDir plugins;
    copy_plugins(plugins.path(), {"libparams_probe.so"});
    TempDir dir;
    const auto config = dir.path() / "config.json";
    std::ofstream(config) << R"({"analyzers": {"params_probe": {"threshold": 300}}})";
    const auto [status, output] =
        run_host_command({"--check-config", config.string(), "--plugins-dir", plugins.path().string()});
    EXPECT_NE(status, 0) << output;
    EXPECT_TRUE(has(output, "analyzer 'params_probe': configuration: parameter 'threshold': must be a number between "
                            "0 and 255 (got 300)"))
        << output;
}

} // namespace
} // namespace ava::test
