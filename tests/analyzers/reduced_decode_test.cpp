// Decoding only what an analyzer declares it needs (ABI 1.2 input_*) must not change its answers. Each
// bundled plugin .so runs through the C ABI on real frames JPEG-encoded, once decoded the way a plugin that
// declares nothing gets them (full size, BGR24) and once the way the host decodes for this plugin's
// declaration (frames::decode_image: DCT-scaled, gray where declared). Fails on a changed classification
// tag, a confidence moved by more than 0.05, or a box without a partner of IoU >= 0.8.
#include "plugin_harness.h"

#include "frames/frame_decoder.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <span>

namespace ava::test {
namespace {

constexpr float max_confidence_shift = 0.05F;
constexpr float min_box_iou = 0.8F;

struct Picture {
    std::string name;
    std::vector<std::uint8_t> jpeg;
};

Picture encoded(std::string name, const cv::Mat& bgr)
{
    Picture picture{std::move(name), {}};
    cv::imencode(".jpg", bgr, picture.jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
    return picture;
}

cv::Mat doubled(const cv::Mat& bgr)
{
    cv::Mat out;
    cv::resize(bgr, out, {}, 2.0, 2.0, cv::INTER_CUBIC);
    return out;
}

// Real frames at their own size and at twice it (so that every analyzer's declared minimum, 640 wide for
// quality, leaves room to shrink): people in vtest.avi, a close-up face in Megamind.avi, messi5.jpg.
const std::vector<Picture>& pictures()
{
    static const std::vector<Picture> all = [] {
        std::vector<Picture> out;
        const auto add = [&](const std::string& name, const cv::Mat& bgr) {
            out.push_back(encoded(name, bgr));
            out.push_back(encoded(name + " x2", doubled(bgr)));
        };
        const auto vtest = read_frames("vtest.avi", {5, 25, 45});
        for (std::size_t i = 0; i < vtest.size(); ++i) {
            add("vtest.avi #" + std::to_string(i), vtest[i]);
        }
        const auto megamind = read_frames("Megamind.avi", {30, 100});
        for (std::size_t i = 0; i < megamind.size(); ++i) {
            add("Megamind.avi #" + std::to_string(i), megamind[i]);
        }
        add("messi5.jpg", cv::imread(media("messi5.jpg")));
        return out;
    }();
    return all;
}

frames::InputRequest declared(const Plugin& plugin)
{
    const auto& d = plugin.descriptor();
    return frames::input_request_of(d.input_pixel_formats, d.input_min_width, d.input_min_height, d.input_flags);
}

frames::Frame decode(const Picture& picture, const frames::InputRequest& request)
{
    return frames::decode_image(std::span<const std::uint8_t>(picture.jpeg), frames::ImageEncoding::jpeg, nullptr,
                                request);
}

std::string where(const Inference& i) { return i.kind + " '" + i.value + "' (" + i.subtype + ")"; }

// Every answer in `from` has its partner in `to`.
void expect_partners(const std::vector<Inference>& from, const std::vector<Inference>& to, const std::string& context)
{
    for (const auto& a : from) {
        const Inference* partner = nullptr;
        float best_iou = -1;
        for (const auto& b : to) {
            if (a.kind != b.kind || a.subtype != b.subtype || (a.kind != "classification" && a.value != b.value)) {
                continue;
            }
            const float overlap = a.kind == "classification" ? 1.0F : iou(a.rect(), b.rect());
            if (overlap > best_iou) {
                best_iou = overlap;
                partner = &b;
            }
        }
        ASSERT_NE(partner, nullptr) << context << ": " << where(a) << " has no counterpart";
        EXPECT_EQ(partner->value, a.value) << context << ": " << where(a);
        if (a.kind != "classification") {
            EXPECT_GE(best_iou, min_box_iou) << context << ": " << where(a) << " box " << a.rect() << " vs "
                                             << partner->rect();
        }
        if (a.confidence >= 0 || partner->confidence >= 0) {
            EXPECT_LE(std::abs(a.confidence - partner->confidence), max_confidence_shift)
                << context << ": " << where(a) << " confidence " << a.confidence << " vs " << partner->confidence;
        }
    }
}

void expect_same_answers(const std::vector<Inference>& full, const std::vector<Inference>& reduced,
                         const std::string& context)
{
    EXPECT_EQ(full.size(), reduced.size()) << context;
    expect_partners(full, reduced, context + " (full -> reduced)");
    expect_partners(reduced, full, context + " (reduced -> full)");
}

class ReducedDecode : public ::testing::TestWithParam<const char*> {};

TEST_P(ReducedDecode, GivesTheSameAnswersAsAFullDecode)
{
    const Plugin plugin(GetParam());
    const auto request = declared(plugin);
    Instance instance(plugin);
    int shrunk = 0;
    for (const auto& picture : pictures()) {
        const auto full = decode(picture, {});
        const auto reduced = decode(picture, request);
        ASSERT_EQ(full.format, AVA_PIXEL_FORMAT_BGR24);
        const auto expected = frames::delivered_size({full.sent_width, full.sent_height}, request);
        ASSERT_EQ(reduced.image.cols, static_cast<int>(expected.width)) << picture.name;
        ASSERT_EQ(reduced.image.rows, static_cast<int>(expected.height)) << picture.name;
        ASSERT_TRUE(request.accepts(reduced.format)) << picture.name;
        shrunk += reduced.image.cols < full.image.cols ? 1 : 0;
        auto full_session = instance.open();
        auto reduced_session = instance.open();
        expect_same_answers(full_session->process(full.to_abi()), reduced_session->process(reduced.to_abi()),
                            std::string(GetParam()) + " on " + picture.name + " at " +
                                std::to_string(reduced.image.cols) + "x" + std::to_string(reduced.image.rows));
    }
    if (!request.declares_nothing()) {
        EXPECT_GT(shrunk, 0) << "the declaration never shrank a frame: the comparison proved nothing";
    }
}

INSTANTIATE_TEST_SUITE_P(Bundled, ReducedDecode, ::testing::Values("color_intensity", "faces", "quality", "people"));

// Motion keeps a background model per stream: the whole walk through two sessions, compared frame by frame.
// Motion declares nothing today (a declaration of 320x180 failed this test: its boxes moved); the test
// stays so that a declaration added later is held to the same answers.
TEST(ReducedDecodeMotion, GivesTheSameMotionAsAFullDecode)
{
    const Plugin plugin("motion");
    const auto request = declared(plugin);
    Instance instance(plugin);
    auto full_session = instance.open();
    auto reduced_session = instance.open();
    const auto& walk = vtest_walking();
    for (std::size_t i = 0; i < walk.size(); ++i) {
        const auto picture = encoded("vtest.avi frame " + std::to_string(i), walk[i]);
        const auto full = decode(picture, {});
        const auto reduced = decode(picture, request);
        ASSERT_EQ(reduced.image.cols < full.image.cols, !request.declares_nothing());
        const auto full_answers = full_session->process(full.to_abi());
        const auto reduced_answers = reduced_session->process(reduced.to_abi());
        expect_same_answers(full_answers, reduced_answers, picture.name);
    }
}

} // namespace
} // namespace ava::test
