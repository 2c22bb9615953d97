// What the clients people migrate from send over HTTP (issue 12): Intel's DL Streamer /<name>/<version>
// paths with ?stream-id=, mapped to our analyzers by a route alias in the configuration alone.
#include "host_process.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <vector>

namespace ava::test {
namespace {

std::string jpeg_of_gray(int gray)
{
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(gray)), bytes);
    return {bytes.begin(), bytes.end()};
}

class HttpInterop : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        config_dir_ = std::make_unique<TempDir>();
        const auto config = config_dir_->path() / "config.json";
        std::ofstream(config) << R"({
  "routes": [
    {"analyzer": "color_intensity", "alias": "object_detection/person_vehicle_bike",
     "parameters": {"threshold": 200}},
    {"analyzer": "color_intensity", "alias": "classification"}
  ]
})";
        host_ = std::make_unique<HostProcess>(std::vector<std::string>{"--no-grpc", "--config", config.string()});
    }
    static void TearDownTestSuite()
    {
        host_.reset();
        config_dir_.reset();
    }
    void TearDown() override { ASSERT_TRUE(host_->running()) << host_->log(); }

    static HttpReply post(const std::string& target, const std::string& body)
    {
        return http_post(host_->http_port(), target, "image/jpeg", body);
    }

    static std::unique_ptr<TempDir> config_dir_;
    static std::unique_ptr<HostProcess> host_;
};

std::unique_ptr<TempDir> HttpInterop::config_dir_;
std::unique_ptr<HostProcess> HttpInterop::host_;

TEST_F(HttpInterop, IntelPathReachesTheAliasedAnalyzerWithItsParameters)
{
    // Gray 150 is "light" at the analyzer's default threshold of 127, "dark" under the alias's 200.
    auto reply = post("/object_detection/person_vehicle_bike?stream-id=cam-1", jpeg_of_gray(150));
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_NE(reply.body.find(R"("value":"dark")"), std::string::npos) << reply.body;
    EXPECT_EQ(schema_violation(reply.body), "");
    // Query parameters are pipeline parameters, over the alias's; stream-id is not one of them.
    reply = post("/object_detection/person_vehicle_bike?stream-id=cam-1&threshold=100", jpeg_of_gray(150));
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_NE(reply.body.find(R"("value":"light")"), std::string::npos) << reply.body;
    // An alias of a name alone stands for every version of it.
    reply = post("/classification/vehicle_attributes_recognition", jpeg_of_gray(0));
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_NE(reply.body.find(R"("value":"dark")"), std::string::npos) << reply.body;
    EXPECT_EQ(post("/classification", jpeg_of_gray(0)).status, 200);
}

TEST_F(HttpInterop, AnalyzerNameWithVersionPinsThePluginVersion)
{
    auto reply = post("/color_intensity/1.0.0", jpeg_of_gray(0));
    EXPECT_EQ(reply.status, 200) << reply.body;
    reply = post("/color_intensity/9.9.9", jpeg_of_gray(0));
    EXPECT_EQ(reply.status, 404) << reply.body;
    EXPECT_NE(reply.body.find("version 1.0.0 is loaded"), std::string::npos) << reply.body;
    // A version of a name with no alias for it and no analyzer of that name: 404 naming what is loaded.
    reply = post("/object_detection/other_model", jpeg_of_gray(0));
    EXPECT_EQ(reply.status, 404) << reply.body;
    EXPECT_NE(reply.body.find("object_detection"), std::string::npos) << reply.body;
    EXPECT_NE(reply.body.find("color_intensity"), std::string::npos) << reply.body;
}

TEST_F(HttpInterop, EmptyPostEndsANamedStreamAndIsAnErrorOtherwise)
{
    EXPECT_EQ(post("/object_detection/person_vehicle_bike?stream-id=cam-2", jpeg_of_gray(0)).status, 200);
    const auto end = post("/object_detection/person_vehicle_bike?stream-id=cam-2", "");
    EXPECT_EQ(end.status, 204) << end.body;
    EXPECT_TRUE(end.body.empty());
    const auto no_stream = post("/object_detection/person_vehicle_bike", "");
    EXPECT_EQ(no_stream.status, 400) << no_stream.body;
}

TEST_F(HttpInterop, AliasesAreListedAsPaths)
{
    const auto listing = http_request(host_->http_port(), "GET", "/analyzers");
    ASSERT_EQ(listing.status, 200);
    EXPECT_NE(listing.body.find("/object_detection/person_vehicle_bike"), std::string::npos) << listing.body;
}

} // namespace
} // namespace ava::test
