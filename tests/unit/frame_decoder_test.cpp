#include "frames/frame_decoder.h"

#include <gtest/gtest.h>

#include <vector>

namespace ava::frames {
namespace {

std::span<const std::uint8_t> bytes_of(const std::vector<std::uint8_t>& v) { return {v.data(), v.size()}; }

TEST(WrapRaw, NativeFormatsAreWrappedWithoutACopy)
{
    std::vector<std::uint8_t> pixels(8 * 4 * 3 + 8 * 4, 7); // stride 32 for 8 BGR pixels (24 bytes)
    pixels.resize(32 * 4);
    const auto frame = wrap_raw(bytes_of(pixels), RawLayout{RawPixelFormat::bgr24, 8, 4, 32});
    EXPECT_EQ(frame.image.data, pixels.data());
    EXPECT_EQ(frame.image.step[0], 32u);
    EXPECT_EQ(frame.format, AVA_PIXEL_FORMAT_BGR24);
}

TEST(WrapRaw, ArgbBecomesBgra)
{
    const std::vector<std::uint8_t> argb{0xAA, 0x11, 0x22, 0x33}; // A R G B
    const auto frame = wrap_raw(bytes_of(argb), RawLayout{RawPixelFormat::argb, 1, 1, 0});
    ASSERT_EQ(frame.format, AVA_PIXEL_FORMAT_BGRA32);
    const auto* p = frame.image.ptr<std::uint8_t>(0);
    EXPECT_EQ((std::vector<std::uint8_t>{p[0], p[1], p[2], p[3]}), (std::vector<std::uint8_t>{0x33, 0x22, 0x11, 0xAA}));
}

TEST(WrapRaw, Rgb565BigAndLittleEndianAgree)
{
    // Pure red in RGB565 is 0xF800.
    const auto le = wrap_raw(bytes_of({0x00, 0xF8}), RawLayout{RawPixelFormat::rgb565le, 1, 1, 0});
    const auto be = wrap_raw(bytes_of({0xF8, 0x00}), RawLayout{RawPixelFormat::rgb565be, 1, 1, 0});
    EXPECT_EQ(le.image.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 248));
    EXPECT_EQ(be.image.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 248));
}

TEST(WrapRaw, RejectsInconsistentLayouts)
{
    const std::vector<std::uint8_t> few(10);
    EXPECT_THROW(wrap_raw(bytes_of(few), RawLayout{RawPixelFormat::bgr24, 0, 4, 0}), FrameError);
    EXPECT_THROW(wrap_raw(bytes_of(few), RawLayout{RawPixelFormat::bgr24, 4, 4, 0}), FrameError);
    EXPECT_THROW(wrap_raw(bytes_of(few), RawLayout{RawPixelFormat::bgr24, 4, 4, 6}), FrameError);
    EXPECT_THROW(wrap_raw(bytes_of(few), RawLayout{RawPixelFormat::bgr24, 100000, 4, 0}), FrameError);
    EXPECT_THROW(wrap_raw(bytes_of(few), RawLayout{RawPixelFormat::yuv420p, 3, 3, 0}), FrameError);
}

TEST(DecodeImage, RefusesEmptyAndUnknown)
{
    EXPECT_THROW(decode_image({}, ImageEncoding::jpeg), FrameError);
    const std::vector<std::uint8_t> junk(64, 0x42);
    EXPECT_THROW(decode_image(bytes_of(junk), ImageEncoding::png), FrameError);
}

TEST(PixelFormat, ParsesNamesCaseInsensitively)
{
    EXPECT_EQ(parse_raw_pixel_format("BGR24"), RawPixelFormat::bgr24);
    EXPECT_EQ(parse_raw_pixel_format("rgb555be"), RawPixelFormat::rgb555be);
    EXPECT_FALSE(parse_raw_pixel_format("cmyk").has_value());
}

} // namespace
} // namespace ava::frames
