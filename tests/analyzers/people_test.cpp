// people plugin on vtest.avi (768x576, fixed camera, people walking), through the C ABI.
//
// Ground truth: every clearly visible standing/walking person, marked by hand on zoomed frames (tight
// boxes, head to feet). A detection matches a person at IoU >= 0.3: HOG boxes, even tightened, are ~1.5x
// wider than a tight hand-drawn box, so a correct hit scores 0.4-0.6, while a box on a neighbour 30 pixels
// away scores below 0.2. The HOG detector is known to miss partly occluded people and to fire now and then
// on clutter, so we require most people found and at most one stray box per frame.
#include "plugin_harness.h"

#include <gtest/gtest.h>

namespace ava::test {
namespace {

struct Truth {
    int frame;
    std::vector<cv::Rect2f> people;
    std::size_t at_least;
};

cv::Rect2f px(float x0, float y0, float x1, float y1) { return unit_box(x0, y0, x1, y1, 768, 576); }

const std::vector<Truth> truth{
    {50,
     {px(372, 180, 400, 258), px(410, 181, 430, 262), px(432, 175, 458, 246), px(505, 216, 541, 310),
      px(552, 214, 588, 303), px(667, 257, 714, 370)},
     4},
    {150, {px(387, 195, 418, 279), px(432, 194, 465, 275), px(445, 180, 472, 252), px(590, 227, 626, 315)}, 3},
};

TEST(PeoplePlugin, FindsWalkingPeopleInVtest)
{
    const Plugin plugin("people");
    Instance instance(plugin);
    auto session = instance.open();
    const auto frames = read_frames("vtest.avi", {50, 150});
    for (std::size_t f = 0; f < truth.size(); ++f) {
        SCOPED_TRACE("frame " + std::to_string(truth[f].frame));
        const auto people = session->process(frames[f]);
        std::size_t matched = 0;
        std::size_t stray = 0;
        std::vector<bool> taken(truth[f].people.size(), false);
        for (const auto& p : people) {
            EXPECT_EQ(p.value, "person");
            EXPECT_EQ(p.subtype, "personDetection");
            EXPECT_TRUE(inside_unit(p.box));
            EXPECT_GT(p.confidence, 0.5F);
            EXPECT_LE(p.confidence, 1.0F);
            bool hit = false;
            for (std::size_t t = 0; t < truth[f].people.size() && !hit; ++t) {
                if (!taken[t] && iou(p.rect(), truth[f].people[t]) >= 0.3F) {
                    taken[t] = hit = true;
                }
            }
            (hit ? matched : stray)++;
        }
        EXPECT_GE(matched, truth[f].at_least);
        EXPECT_LE(stray, 1U);
    }
}

TEST(PeoplePlugin, NobodyOnAnEmptyScene)
{
    const Plugin plugin("people");
    Instance instance(plugin);
    const cv::Mat flat(576, 768, CV_8UC3, cv::Scalar(90, 120, 100));
    EXPECT_TRUE(instance.open()->process(flat).empty());
}

TEST(PeoplePlugin, ShrinkingTheFrameIsFasterButFindsFewer)
{
    // max_width 384 halves the frame: vtest's ~90-pixel people fall below the 128-pixel window.
    const Plugin plugin("people");
    Instance instance(plugin);
    const auto frames = read_frames("vtest.avi", {50});
    const auto full = instance.open()->process(frames[0]);
    const auto shrunk = instance.open(R"({"max_width":384})")->process(frames[0]);
    EXPECT_LT(shrunk.size(), full.size());
}

TEST(PeoplePlugin, RejectsBadParameters)
{
    const Plugin plugin("people");
    Status s = try_create(plugin, R"({"win_stride":12})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'win_stride' must be 8, 16, 24 or 32"), std::string::npos) << s.message;

    s = try_create(plugin, R"({"scale":1.0})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'scale' must be a number from 1.01 to 2"), std::string::npos) << s.message;

    Instance instance(plugin);
    s = instance.try_open(R"({"max_width":10})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'max_width'"), std::string::npos) << s.message;
    s = instance.try_open(R"({"people":3})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("unknown parameter 'people'"), std::string::npos) << s.message;
}

} // namespace
} // namespace ava::test
