// motion plugin on vtest.avi, through the C ABI: a per-stream background model fed frame by frame.
#include "plugin_harness.h"

#include <gtest/gtest.h>

namespace ava::test {
namespace {

cv::Rect2f px(float x0, float y0, float x1, float y1) { return unit_box(x0, y0, x1, y1, 768, 576); }

// People walking in frame 50 (hand-marked): red jacket, the woman beside him, the man on the right.
const std::vector<cv::Rect2f> walkers{px(505, 216, 541, 310), px(552, 214, 588, 303), px(667, 257, 714, 370)};

TEST(MotionPlugin, DeclaresPerSessionState)
{
    const Plugin plugin("motion");
    EXPECT_EQ(plugin.descriptor().concurrency, AVA_CONCURRENCY_PER_SESSION);
}

class MotionMethods : public ::testing::TestWithParam<const char*> {};

TEST_P(MotionMethods, FindsThePeopleWalking)
{
    const Plugin plugin("motion");
    Instance instance(plugin);
    auto session = instance.open(std::string(R"({"method":")") + GetParam() + "\"}");
    const auto& frames = vtest_walking();
    std::vector<Inference> last;
    for (const auto& frame : frames) {
        last = session->process(frame);
    }
    ASSERT_FALSE(last.empty());
    for (const auto& m : last) {
        EXPECT_EQ(m.kind, "motion");
        EXPECT_TRUE(inside_unit(m.box));
        // Moving regions are person-sized, not the whole frame.
        EXPECT_LT(m.box.w * m.box.h, 0.1F);
    }
    // Each walker is covered by a motion box: most of the walker's box lies inside one (regions may merge
    // two people walking side by side, so we test coverage rather than IoU).
    for (const auto& walker : walkers) {
        float best = 0;
        for (const auto& m : last) {
            best = std::max(best, (walker & m.rect()).area() / walker.area());
        }
        EXPECT_GT(best, 0.5F) << "walker at " << walker;
    }
}

INSTANTIATE_TEST_SUITE_P(Both, MotionMethods, ::testing::Values("mog2", "knn"));

TEST(MotionPlugin, NothingOnARepeatedStillFrame)
{
    const Plugin plugin("motion");
    Instance instance(plugin);
    for (const char* method : {"mog2", "knn"}) {
        auto session = instance.open(std::string(R"({"method":")") + method + "\"}");
        const cv::Mat still = vtest_walking()[50];
        for (int i = 0; i < 30; ++i) {
            EXPECT_TRUE(session->process(still).empty()) << method << " frame " << i;
        }
    }
}

TEST(MotionPlugin, WarmupHidesTheFirstFrames)
{
    // Without warm-up KNN calls the whole first frame foreground; with the default (10) nothing is said
    // until the model has learnt.
    const Plugin plugin("motion");
    Instance instance(plugin);
    auto cold = instance.open(R"({"method":"knn","warmup_frames":0})");
    const auto first = cold->process(vtest_walking()[0]);
    ASSERT_FALSE(first.empty());
    EXPECT_GT(first[0].box.w * first[0].box.h, 0.9F);

    auto warm = instance.open(R"({"method":"knn"})");
    for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(warm->process(vtest_walking()[static_cast<std::size_t>(i)]).empty()) << i;
    }
}

TEST(MotionPlugin, StreamsDoNotShareABackgroundModel)
{
    // Interleave a moving stream and a still one on the same instance: the still one stays quiet, the
    // moving one reports motion. A shared model would mix the two scenes and report motion on both.
    const Plugin plugin("motion");
    Instance instance(plugin);
    auto moving = instance.open();
    auto still = instance.open();
    const auto& frames = vtest_walking();
    std::size_t moving_reports = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        moving_reports += moving->process(frames[i]).empty() ? 0 : 1;
        EXPECT_TRUE(still->process(frames[0]).empty()) << i;
    }
    EXPECT_GT(moving_reports, 30U);
}

TEST(MotionPlugin, MinAreaFiltersSmallRegions)
{
    const Plugin plugin("motion");
    Instance instance(plugin);
    auto session = instance.open(R"({"min_area":0.2})"); // a fifth of the frame: no person is that big
    for (const auto& frame : vtest_walking()) {
        EXPECT_TRUE(session->process(frame).empty());
    }
}

TEST(MotionPlugin, RejectsBadParameters)
{
    const Plugin plugin("motion");
    Status s = try_create(plugin, R"({"method":"optical-flow"})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'method' must be one of: mog2, knn"), std::string::npos) << s.message;
    s = try_create(plugin, R"({"min_area":2})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'min_area' must be a number from 0 to 1"), std::string::npos) << s.message;
    Instance instance(plugin);
    s = instance.try_open(R"({"warmup_frames":1.5})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'warmup_frames' must be an integer"), std::string::npos) << s.message;
    s = instance.try_open(R"({"detect_shadows":"yes"})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'detect_shadows' must be true or false"), std::string::npos) << s.message;
}

} // namespace
} // namespace ava::test
