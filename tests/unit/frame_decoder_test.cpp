#include "frames/frame_decoder.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <string>
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

std::vector<std::uint8_t> encoded(const std::string& extension)
{
    std::vector<std::uint8_t> bytes;
    EXPECT_TRUE(cv::imencode(extension, cv::Mat(16, 32, CV_8UC3, cv::Scalar(10, 20, 30)), bytes));
    return bytes;
}

void put_be(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; ++i) {
        b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * (bytes - 1 - i)));
    }
}

void put_le32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v)
{
    for (std::size_t i = 0; i < 4; ++i) {
        b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
}

std::size_t jpeg_sof(const std::vector<std::uint8_t>& b)
{
    for (std::size_t i = 2; i + 1 < b.size(); ++i) {
        if (b[i] == 0xFF && b[i + 1] == 0xC0) {
            return i;
        }
    }
    ADD_FAILURE() << "no SOF0 marker";
    return 0;
}

TEST(DecodeImage, RealImagesDecodeAtTheirSize)
{
    for (const auto& [extension, encoding] : {std::pair{".jpg", ImageEncoding::jpeg}, std::pair{".png", ImageEncoding::png},
                                              std::pair{".bmp", ImageEncoding::bmp}}) {
        const auto bytes = encoded(extension);
        const auto frame = decode_image(bytes_of(bytes), encoding);
        EXPECT_EQ(frame.image.size(), cv::Size(32, 16)) << extension;
    }
}

// A small file whose header declares a huge image is refused before the decoder allocates for it.
TEST(DecodeImage, RefusesImagesDeclaringTooManyPixels)
{
    auto png = encoded(".png");
    put_be(png, 16, 40000, 4); // IHDR width
    auto jpeg = encoded(".jpg");
    const auto sof = jpeg_sof(jpeg);
    put_be(jpeg, sof + 5, 12000, 2); // height
    put_be(jpeg, sof + 7, 12000, 2); // width: each side is allowed, 144 Mpx in all is not
    // The same, hidden behind a stray byte before the frame header (libjpeg skips such bytes, so must we).
    auto hidden = jpeg;
    hidden.insert(hidden.begin() + static_cast<std::ptrdiff_t>(sof), 0x00);
    auto bmp = encoded(".bmp");
    put_le32(bmp, 22, static_cast<std::uint32_t>(-20000)); // top-down rows, 20000 of them
    for (const auto& [bytes, encoding] : {std::pair{png, ImageEncoding::png}, std::pair{jpeg, ImageEncoding::jpeg},
                                          std::pair{hidden, ImageEncoding::jpeg}, std::pair{bmp, ImageEncoding::bmp}}) {
        try {
            decode_image(bytes_of(bytes), encoding);
            ADD_FAILURE() << name_of(encoding) << " was decoded";
        } catch (const FrameError& e) {
            EXPECT_NE(std::string(e.what()).find("over the limit"), std::string::npos) << e.what();
        }
    }
}

// A JPEG whose size cannot be read from its header is not handed to the decoder at all.
TEST(DecodeImage, RefusesJpegWithoutAReadableFrameHeader)
{
    auto jpeg = encoded(".jpg");
    const auto sof = jpeg_sof(jpeg);
    jpeg[sof + 1] = 0xFE; // the frame header becomes a comment: no size before the scan
    try {
        decode_image(bytes_of(jpeg), ImageEncoding::jpeg);
        ADD_FAILURE() << "decoded";
    } catch (const FrameError& e) {
        EXPECT_NE(std::string(e.what()).find("no readable image size"), std::string::npos) << e.what();
    }
}

TEST(PixelFormat, ParsesNamesCaseInsensitively)
{
    EXPECT_EQ(parse_raw_pixel_format("BGR24"), RawPixelFormat::bgr24);
    EXPECT_EQ(parse_raw_pixel_format("rgb555be"), RawPixelFormat::rgb555be);
    EXPECT_FALSE(parse_raw_pixel_format("cmyk").has_value());
}

} // namespace
} // namespace ava::frames
