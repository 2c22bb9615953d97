// quality plugin through the C ABI: a sharp real frame, blurred / darkened / blown-out copies of it.
#include "plugin_harness.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

namespace ava::test {
namespace {

cv::Mat sharp_frame() { return read_frames("vtest.avi", {50})[0]; }

Inference the(const std::vector<Inference>& results, const std::string& subtype)
{
    const auto found = only(results, "classification", subtype);
    if (found.size() != 1) {
        throw std::runtime_error("expected one '" + subtype + "' classification, got " + std::to_string(found.size()));
    }
    return found[0];
}

TEST(QualityPlugin, SharpFrameIsSharpNormalAndGood)
{
    const Plugin plugin("quality");
    Instance instance(plugin, R"({"brisque":true})");
    const auto results = instance.open()->process(sharp_frame());
    ASSERT_EQ(results.size(), 3U);
    const auto sharpness = the(results, "sharpness");
    EXPECT_EQ(sharpness.value, "sharp");
    // Measured ~550 at the default 640-pixel analysis width: comfortably above the threshold of 100.
    EXPECT_GT(std::stod(sharpness.attributes.at("laplacianVariance")), 300.0);
    EXPECT_GT(sharpness.confidence, 0.9F);
    EXPECT_EQ(the(results, "exposure").value, "normal");
    // Every classification carries a real confidence (clients in the field read it unconditionally).
    EXPECT_GE(the(results, "exposure").confidence, 0.5F);
    EXPECT_LE(the(results, "exposure").confidence, 1.0F);
    const auto quality = the(results, "quality");
    EXPECT_EQ(quality.value, "good");
    EXPECT_GT(quality.confidence, 0.5F); // 28.6 against a threshold of 40
    EXPECT_LT(std::stod(quality.attributes.at("brisque")), 35.0); // measured 28.6; "poor" starts at 40
}

TEST(QualityPlugin, BlurredCopyIsBlurred)
{
    const cv::Mat sharp = sharp_frame();
    cv::Mat blurred;
    cv::GaussianBlur(sharp, blurred, cv::Size(9, 9), 0); // sigma 1.7: a visibly soft, defocused frame
    const Plugin plugin("quality");
    Instance instance(plugin);
    auto session = instance.open(R"({"brisque":true})");
    const auto before = session->process(sharp);
    const auto after = session->process(blurred);
    EXPECT_EQ(the(after, "sharpness").value, "blurred");
    EXPECT_LT(std::stod(the(after, "sharpness").attributes.at("laplacianVariance")), 100.0);
    EXPECT_EQ(the(after, "exposure").value, "normal"); // blur does not change the level
    // BRISQUE worsens (rises) clearly with blur: measured 28.6 -> 54.9.
    EXPECT_GT(std::stod(the(after, "quality").attributes.at("brisque")),
              std::stod(the(before, "quality").attributes.at("brisque")) + 15.0);
    EXPECT_EQ(the(after, "quality").value, "poor");
}

TEST(QualityPlugin, DarkAndBlownOutCopiesAreBadlyExposed)
{
    const cv::Mat sharp = sharp_frame();
    cv::Mat dark, bright;
    sharp.convertTo(dark, -1, 0.2);        // mean ~24: an iris closed too far
    sharp.convertTo(bright, -1, 2.5, 40);  // most of the frame clips at 255
    const Plugin plugin("quality");
    Instance instance(plugin);
    auto session = instance.open();
    const auto d = session->process(dark);
    EXPECT_EQ(the(d, "exposure").value, "underexposed");
    EXPECT_GT(the(d, "exposure").confidence, 0.8F); // mean ~24 against 40, and most pixels clipped dark
    EXPECT_LT(std::stod(the(d, "exposure").attributes.at("meanLevel")), 40.0);
    const auto b = session->process(bright);
    EXPECT_EQ(the(b, "exposure").value, "overexposed");
    EXPECT_GT(std::stod(the(b, "exposure").attributes.at("brightShare")), 0.4);
    EXPECT_TRUE(only(b, "classification", "quality").empty()); // brisque is off by default
}

TEST(QualityPlugin, MeasuresAtTheAnalysisWidthWhateverTheFrameSize)
{
    // The 768x576 frame is measured at max_width 640 (converted to gray, then shrunk): the same figures,
    // within rounding, as a copy the camera had delivered at 640x480 (shrunk in colour first), so the
    // thresholds mean the same whichever order the pixels were reduced in.
    const cv::Mat sharp = sharp_frame();
    cv::Mat small;
    cv::resize(sharp, small, cv::Size(640, 480), 0, 0, cv::INTER_AREA);
    const Plugin plugin("quality");
    Instance instance(plugin);
    auto session = instance.open();
    const auto full = session->process(sharp);
    const auto shrunk = session->process(small);
    const double variance = std::stod(the(full, "sharpness").attributes.at("laplacianVariance"));
    EXPECT_NEAR(variance, std::stod(the(shrunk, "sharpness").attributes.at("laplacianVariance")), 0.01 * variance);
    EXPECT_NEAR(std::stod(the(full, "exposure").attributes.at("meanLevel")),
                std::stod(the(shrunk, "exposure").attributes.at("meanLevel")), 0.5);
}

TEST(QualityPlugin, ThresholdsArePerStream)
{
    const Plugin plugin("quality");
    Instance instance(plugin);
    // The same sharp frame, judged against a very demanding threshold, is "blurred".
    const auto results = instance.open(R"({"blur_threshold":5000})")->process(sharp_frame());
    EXPECT_EQ(the(results, "sharpness").value, "blurred");
}

TEST(QualityPlugin, RejectsBadParameters)
{
    const Plugin plugin("quality");
    Status s = try_create(plugin, R"({"blur_threshold":-1})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'blur_threshold' must be a number from 0 to 100000"), std::string::npos) << s.message;
    s = try_create(plugin, R"({"dark_mean":200,"bright_mean":100})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'dark_mean' must be below 'bright_mean'"), std::string::npos) << s.message;
    Instance instance(plugin);
    s = instance.try_open(R"({"brisque":1})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'brisque' must be true or false"), std::string::npos) << s.message;
}

} // namespace
} // namespace ava::test
