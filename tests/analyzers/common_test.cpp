// plugins/common helpers, linked directly.
#include <ava_common/frame.hpp>
#include <ava_common/geometry.hpp>
#include <ava_common/pool.hpp>

#include <ava_plugin_cpp.hpp>

#include <gtest/gtest.h>

#include <thread>

namespace ava::common {
namespace {

TEST(PluginCommon, NmsKeepsTheBestOfOverlappingBoxes)
{
    const std::vector<cv::Rect2f> boxes{{0, 0, 10, 10}, {1, 1, 10, 10}, {50, 50, 10, 10}, {0, 0, 9, 9}};
    const std::vector<float> scores{0.8F, 0.9F, 0.7F, 0.1F};
    EXPECT_EQ(nms(boxes, scores, 0.5F, 0.3F), (std::vector<int>{1, 2}));
    const auto clusters = nms_clusters(boxes, scores, 0.0F, 0.3F);
    ASSERT_EQ(clusters.size(), 2U);
    EXPECT_EQ(clusters[0], (std::vector<int>{1, 0, 3}));
    EXPECT_EQ(clusters[1], (std::vector<int>{2}));
}

TEST(PluginCommon, NormaliseClampsToTheFrame)
{
    const auto inside = normalise({10, 20, 30, 40}, {100, 200});
    ASSERT_TRUE(inside);
    EXPECT_FLOAT_EQ(inside->l, 0.1F);
    EXPECT_FLOAT_EQ(inside->t, 0.1F);
    EXPECT_FLOAT_EQ(inside->w, 0.3F);
    EXPECT_FLOAT_EQ(inside->h, 0.2F);
    const auto spilling = normalise({-10, 190, 50, 40}, {100, 200});
    ASSERT_TRUE(spilling);
    EXPECT_FLOAT_EQ(spilling->l, 0.0F);
    EXPECT_FLOAT_EQ(spilling->w, 0.4F);
    EXPECT_FLOAT_EQ(spilling->t + spilling->h, 1.0F);
    EXPECT_FALSE(normalise({200, 0, 10, 10}, {100, 200}));
    EXPECT_FALSE(clamp_unit({0.5F, 0.5F, std::nanf(""), 0.1F}));
}

TEST(PluginCommon, ConvertHandlesEveryFormatAndStride)
{
    // 3x2 image, one distinct colour per pixel, rows padded to 16 bytes.
    const uint8_t bgr[2][16] = {{10, 20, 30, 40, 50, 60, 70, 80, 90}, {15, 25, 35, 45, 55, 65, 75, 85, 95}};
    const ava_frame frame{sizeof(ava_frame), &bgr[0][0], 3, 2, 16, AVA_PIXEL_FORMAT_BGR24, 0};
    const cv::Mat view = wrap(frame);
    EXPECT_EQ(view.data, &bgr[0][0]); // no copy
    const cv::Mat rgb = convert(frame, Layout::rgb);
    EXPECT_EQ(rgb.at<cv::Vec3b>(1, 2), cv::Vec3b(95, 85, 75));
    const cv::Mat gray = convert(frame, Layout::gray);
    EXPECT_EQ(gray.type(), CV_8UC1);
    EXPECT_EQ(gray.size(), cv::Size(3, 2));

    ava_frame bad = frame;
    bad.stride_bytes = 8;
    EXPECT_THROW(wrap(bad), ava::plugin::Error);
    bad = frame;
    bad.pixel_format = AVA_PIXEL_FORMAT_UNKNOWN;
    try {
        wrap(bad);
        FAIL();
    } catch (const ava::plugin::Error& e) {
        EXPECT_EQ(e.status(), AVA_STATUS_UNSUPPORTED);
    }
    EXPECT_EQ(convert(frame, Layout::bgr, 0.5).size(), cv::Size(2, 1));
    EXPECT_DOUBLE_EQ(fit_width({1280, 720}, 640), 0.5);
    EXPECT_DOUBLE_EQ(fit_width({320, 240}, 640), 1.0);
    EXPECT_DOUBLE_EQ(fit_width({1280, 720}, 0), 1.0);
}

TEST(PluginCommon, PoolLendsEachCallerItsOwnObject)
{
    int made = 0;
    Pool<int> pool([&] { return std::make_unique<int>(++made); });
    {
        auto a = pool.acquire();
        auto b = pool.acquire(); // a is out: a second one is made
        EXPECT_NE(&*a, &*b);
        EXPECT_EQ(made, 2);
    }
    auto c = pool.acquire(); // reused
    EXPECT_EQ(made, 2);
    Pool<int> failing_pool_is_an_error_at_construction_test([] { return std::make_unique<int>(0); });
    EXPECT_THROW(Pool<int>([]() -> std::unique_ptr<int> { throw std::runtime_error("no model"); }),
                 std::runtime_error);
}

} // namespace
} // namespace ava::common
