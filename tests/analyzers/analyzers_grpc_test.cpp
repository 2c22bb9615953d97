// The stream analyzers through the real host over gRPC, as a live pipeline drives them: a descriptor, then
// frames (embedded or in shared memory), one acknowledgement with inferences per frame. Uses the replay
// tool's client (tools/replay) and, last, the ava-replay program itself.
#include "host_process.h"
#include "media_stream_client.h"
#include "plugin_harness.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <future>
#include <sys/wait.h>

namespace ava::test {
namespace {

using replay::Ack;
using replay::MediaStreamClient;
using replay::StreamOptions;
using replay::Transfer;

cv::Rect2f px(float x0, float y0, float x1, float y1) { return unit_box(x0, y0, x1, y1, 768, 576); }

cv::Rect2f rect(const replay::contract::Rectangle& r) { return {r.l(), r.t(), r.w(), r.h()}; }

class AnalyzersOverGrpc : public ::testing::Test {
protected:
    static void SetUpTestSuite() { host_ = std::make_unique<HostProcess>(std::vector<std::string>{"--no-http"}); }
    static void TearDownTestSuite() { host_.reset(); }
    void TearDown() override { ASSERT_TRUE(host_->running()) << host_->log(); }

    static StreamOptions options(const std::string& extension_configuration, Transfer transfer = Transfer::embedded)
    {
        StreamOptions o;
        o.target = "127.0.0.1:" + std::to_string(host_->grpc_port());
        o.extension_configuration = extension_configuration;
        o.transfer = transfer;
        o.size = cv::Size(768, 576);
        return o;
    }

    // Streams `frames` and returns every acknowledgement, in order.
    static std::vector<Ack> stream(const StreamOptions& o, const std::vector<cv::Mat>& frames)
    {
        std::mutex mutex;
        std::vector<Ack> acks;
        MediaStreamClient client(o, [&](const Ack& ack) {
            const std::lock_guard lock(mutex);
            acks.push_back(ack);
        });
        uint64_t timestamp = 0;
        for (const auto& frame : frames) {
            client.send(frame, timestamp += 9000);
        }
        const auto status = client.finish();
        EXPECT_TRUE(status.ok()) << status.error_message();
        return acks;
    }

    static std::unique_ptr<HostProcess> host_;
};

std::unique_ptr<HostProcess> AnalyzersOverGrpc::host_;

void expect_walkers_covered(const Ack& ack)
{
    // The three people walking in frame 50 (hand-marked, see motion_test.cpp) are each mostly inside a
    // motion box; nothing reported is frame-sized.
    const std::vector<cv::Rect2f> walkers{px(505, 216, 541, 310), px(552, 214, 588, 303), px(667, 257, 714, 370)};
    ASSERT_GT(ack.sample.inferences_size(), 0);
    for (const auto& inference : ack.sample.inferences()) {
        ASSERT_TRUE(inference.has_motion());
        EXPECT_LT(inference.motion().box().w() * inference.motion().box().h(), 0.1F);
    }
    for (const auto& walker : walkers) {
        float best = 0;
        for (const auto& inference : ack.sample.inferences()) {
            best = std::max(best, (walker & rect(inference.motion().box())).area() / walker.area());
        }
        EXPECT_GT(best, 0.5F) << "walker at " << walker;
    }
}

TEST_F(AnalyzersOverGrpc, MotionFollowsPeopleWalkingWithEmbeddedFrames)
{
    const auto acks = stream(options("motion"), vtest_walking());
    ASSERT_EQ(acks.size(), vtest_walking().size());
    for (std::size_t i = 0; i < 10; ++i) { // warm-up: learning the background, nothing reported
        EXPECT_EQ(acks[i].sample.inferences_size(), 0) << "frame " << i;
    }
    expect_walkers_covered(acks.back());
}

TEST_F(AnalyzersOverGrpc, MotionFollowsPeopleWalkingInSharedMemory)
{
    const auto acks =
        stream(options(R"({"analyzer":"motion","parameters":{"method":"knn"}})", Transfer::shared_memory), vtest_walking());
    ASSERT_EQ(acks.size(), vtest_walking().size());
    expect_walkers_covered(acks.back());
}

TEST_F(AnalyzersOverGrpc, StillSceneGetsEmptyAcknowledgements)
{
    const std::vector<cv::Mat> still(30, vtest_walking()[50]);
    const auto acks = stream(options("motion"), still);
    ASSERT_EQ(acks.size(), still.size());
    for (std::size_t i = 0; i < acks.size(); ++i) {
        EXPECT_EQ(acks[i].sample.inferences_size(), 0) << "frame " << i;
    }
}

TEST_F(AnalyzersOverGrpc, ConcurrentStreamsKeepTheirOwnBackground)
{
    // A moving and a still pipeline at the same time on the same analyzer: the still one stays quiet.
    auto moving = std::async(std::launch::async, [] { return stream(options("motion"), vtest_walking()); });
    const std::vector<cv::Mat> still(static_cast<std::size_t>(vtest_walking().size()), vtest_walking()[0]);
    const auto quiet = stream(options("motion"), still);
    const auto busy = moving.get();
    for (const auto& ack : quiet) {
        EXPECT_EQ(ack.sample.inferences_size(), 0);
    }
    expect_walkers_covered(busy.back());
}

TEST_F(AnalyzersOverGrpc, PeopleOnAStream)
{
    const auto people = stream(options("people"), {vtest_walking()[50]});
    ASSERT_EQ(people.size(), 1U);
    EXPECT_GE(people[0].sample.inferences_size(), 4);
    for (const auto& inference : people[0].sample.inferences()) {
        EXPECT_EQ(inference.entity().tag().value(), "person");
        EXPECT_EQ(inference.subtype(), "personDetection");
    }
}

TEST_F(AnalyzersOverGrpc, BadParameterRefusesTheStreamClearly)
{
    try {
        MediaStreamClient client(options(R"({"analyzer":"motion","parameters":{"method":"magic"}})"), nullptr);
        FAIL() << "the stream was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(R"(analyzer 'motion': parameter 'method': must be one of "mog2", "knn" (got "magic"))"), std::string::npos) << e.what();
    }
}

TEST_F(AnalyzersOverGrpc, ReplayProgramPrintsJsonLinesAndAnnotates)
{
    const TempDir out;
    const std::string command = std::string(AVA_TEST_REPLAY_BINARY) + " --target 127.0.0.1:" +
                                std::to_string(host_->grpc_port()) + " -a motion --transfer shm --rate max --frames 15" +
                                " --annotate " + (out.path() / "frames").string() + " " + media("vtest.avi") +
                                " 2>" + (out.path() / "stderr").string();
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[4096];
    while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) {
        output.append(buffer, n);
    }
    const int status = ::pclose(pipe);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
    EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 15);
    EXPECT_EQ(output.rfind(R"({"frame":0,"sequence":2,)", 0), 0U) << output.substr(0, 200);
    EXPECT_NE(output.find(R"("type":"motion")"), std::string::npos); // frames 11-14 see people walking
    std::size_t images = 0;
    for (const auto& entry : std::filesystem::directory_iterator(out.path() / "frames")) {
        images += entry.path().extension() == ".jpg" ? 1 : 0;
    }
    EXPECT_EQ(images, 15U);
}

} // namespace
} // namespace ava::test
