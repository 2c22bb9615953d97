// What an analyzer is handed for what it declared (ABI 1.2 input_*): the scale and format arithmetic, the
// checks on a declaration, and decode_image / wrap_raw delivering exactly that.
#include "frames/frame_decoder.h"
#include "frames/input_request.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <stdexcept>
#include <vector>

namespace ava::frames {
namespace {

constexpr std::uint32_t gray_bit = AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_GRAY8);
constexpr std::uint32_t rgb_bit = AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_RGB24);

TEST(InputRequest, ShrinksByTheLargestPowerOfTwoThatKeepsBothSidesLargeEnough)
{
    const InputRequest min_100{.pixel_formats = 0, .min_width = 100, .min_height = 100};
    EXPECT_EQ(reduction_for({800, 600}, min_100), 4);  // 200x150; 100x75 would be too low
    EXPECT_EQ(reduction_for({800, 800}, min_100), 8);  // 100x100 exactly
    EXPECT_EQ(reduction_for({801, 801}, min_100), 8);  // rounds up, as libjpeg does: 101x101
    EXPECT_EQ(reduction_for({199, 600}, min_100), 2);  // 199/2 rounds up to 100; /4 would be 50 wide
    EXPECT_EQ(reduction_for({99, 99}, min_100), 1);    // smaller than asked: as sent, never enlarged
    EXPECT_EQ(reduction_for({4000, 3000}, InputRequest{}), 1);
    EXPECT_EQ((delivered_size({801, 601}, min_100)), (FrameSize{201, 151}));
    EXPECT_EQ((delivered_size({0, 0}, min_100)), (FrameSize{0, 0})); // unknown stays unknown
    const InputRequest exact{.pixel_formats = 0, .min_width = 64, .min_height = 48, .exact_size = true};
    EXPECT_EQ((delivered_size({800, 600}, exact)), (FrameSize{64, 48}));
    EXPECT_EQ((delivered_size({32, 32}, exact)), (FrameSize{64, 48})); // exact means exact, even enlarged
}

TEST(InputRequest, FormatIsKeptWhenTakenElseTheFirstTakenInOrder)
{
    const InputRequest gray{.pixel_formats = gray_bit};
    EXPECT_EQ(delivered_format(AVA_PIXEL_FORMAT_BGR24, gray), AVA_PIXEL_FORMAT_GRAY8);
    EXPECT_EQ(delivered_format(AVA_PIXEL_FORMAT_GRAY8, gray), AVA_PIXEL_FORMAT_GRAY8);
    const InputRequest gray_or_rgb{.pixel_formats = gray_bit | rgb_bit};
    EXPECT_EQ(delivered_format(AVA_PIXEL_FORMAT_RGB24, gray_or_rgb), AVA_PIXEL_FORMAT_RGB24);
    EXPECT_EQ(delivered_format(AVA_PIXEL_FORMAT_BGRA32, gray_or_rgb), AVA_PIXEL_FORMAT_GRAY8);
    EXPECT_EQ(delivered_format(AVA_PIXEL_FORMAT_RGBA32, InputRequest{}), AVA_PIXEL_FORMAT_RGBA32);
}

TEST(InputRequest, DeclarationsAreCheckedAndNewerBitsIgnored)
{
    EXPECT_THROW(input_request_of(1u << 20, 0, 0, 0), std::invalid_argument);      // no format we know
    EXPECT_THROW(input_request_of(0, 100000, 10, 0), std::invalid_argument);       // over the frame limit
    EXPECT_THROW(input_request_of(0, 16384, 16384, AVA_INPUT_EXACT_SIZE), std::invalid_argument); // 268 Mpx
    EXPECT_THROW(input_request_of(0, 64, 0, AVA_INPUT_EXACT_SIZE), std::invalid_argument); // not a size
    const auto request = input_request_of(gray_bit | (1u << 20), 64, 48, AVA_INPUT_EXACT_SIZE | 0x100u);
    EXPECT_EQ(request.pixel_formats, gray_bit);
    EXPECT_TRUE(request.exact_size);
    EXPECT_EQ(request.describe(), "GRAY8, exactly 64x48");
    EXPECT_EQ(InputRequest{}.describe(), "any format, full size");
    EXPECT_TRUE(input_request_of(0, 0, 0, 0).declares_nothing());
}

std::vector<std::uint8_t> jpeg_of(const cv::Mat& image)
{
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", image, bytes);
    return bytes;
}

cv::Mat pattern(int width, int height)
{
    cv::Mat image(height, width, CV_8UC3);
    cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(255));
    cv::GaussianBlur(image, image, {9, 9}, 3);
    return image;
}

TEST(DecodeImage, JpegArrivesAtTheDeclaredScaleInGrayAndKeepsWhatWasSent)
{
    const auto jpeg = jpeg_of(pattern(800, 600));
    const InputRequest gray_100{.pixel_formats = gray_bit, .min_width = 100, .min_height = 100};
    const auto frame = decode_image(jpeg, ImageEncoding::jpeg, nullptr, gray_100);
    EXPECT_EQ(frame.format, AVA_PIXEL_FORMAT_GRAY8);
    EXPECT_EQ(frame.image.type(), CV_8UC1);
    EXPECT_EQ(frame.image.size(), cv::Size(200, 150));
    EXPECT_EQ(frame.sent_width, 800u);
    EXPECT_EQ(frame.sent_height, 600u);
    // The same pixels a full decode gives, shrunk: the mean level moves by well under one grey level.
    cv::Mat full_gray;
    cv::cvtColor(decode_image(jpeg, ImageEncoding::jpeg, nullptr).image, full_gray, cv::COLOR_BGR2GRAY);
    EXPECT_NEAR(cv::mean(frame.image)[0], cv::mean(full_gray)[0], 1.0);
    // Decoded by libjpeg at 1/4 (the DCT scale), not decoded whole and shrunk after: the two differ.
    const cv::Mat encoded(1, static_cast<int>(jpeg.size()), CV_8UC1, const_cast<std::uint8_t*>(jpeg.data()));
    EXPECT_EQ(cv::norm(frame.image, cv::imdecode(encoded, cv::IMREAD_REDUCED_GRAYSCALE_4), cv::NORM_INF), 0.0);
    cv::Mat shrunk_after;
    cv::resize(full_gray, shrunk_after, frame.image.size(), 0, 0, cv::INTER_AREA);
    EXPECT_GT(cv::norm(frame.image, shrunk_after, cv::NORM_INF), 0.0);
}

// The buffer adapt() allocates is a frame's memory too: an exact size far above what was sent is reserved in
// the budget before decoding (one such declaration must not let small frames take 3 MB each unaccounted).
TEST(DecodeImage, TheDeliveredFrameIsReservedInTheBudget)
{
    const InputRequest exact_1000{.pixel_formats = rgb_bit, .min_width = 1000, .min_height = 1000, .exact_size = true};
    for (const char* ext : {".png", ".jpg"}) {
        SCOPED_TRACE(ext);
        std::vector<std::uint8_t> small;
        cv::imencode(ext, pattern(16, 16), small);
        const auto encoding = std::string(ext) == ".png" ? ImageEncoding::png : ImageEncoding::jpeg;
        runtime::MemoryBudget tight(100'000); // room for decoding 16x16, not for the 1000x1000 delivered
        const auto others = tight.try_reserve(50'000); // (a frame alone may exceed the budget: others are in flight)
        ASSERT_TRUE(others.has_value());
        EXPECT_THROW(decode_image(small, encoding, &tight, exact_1000), FrameBudgetExceeded);
        runtime::MemoryBudget enough(4'000'000);
        const auto frame = decode_image(small, encoding, &enough, exact_1000);
        EXPECT_EQ(frame.image.size(), cv::Size(1000, 1000));
        EXPECT_GE(enough.in_use(), 3'000'000u); // held while the frame lives
    }
}

// A JPEG whose EXIF orientation turns it a quarter (6: rotate 90 clockwise) is decoded turned by OpenCV;
// what the analyzer gets must keep the turned picture's shape at any scale, not be squashed into the header's.
TEST(DecodeImage, ExifTurnedJpegKeepsItsTurnedShape)
{
    auto jpeg = jpeg_of(pattern(160, 80));
    // APP1 "Exif": a little-endian TIFF header and one IFD entry, Orientation (0x0112) SHORT = 6.
    const std::vector<std::uint8_t> app1 = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 0x2A, 0,
                                            8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0};
    jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
    ASSERT_EQ(decode_image(jpeg, ImageEncoding::jpeg, nullptr).image.size(), cv::Size(80, 160)); // turned
    for (const auto& request : {InputRequest{.pixel_formats = gray_bit, .min_width = 20, .min_height = 20},
                                InputRequest{.pixel_formats = gray_bit, .min_width = 100, .min_height = 100}}) {
        const auto frame = decode_image(jpeg, ImageEncoding::jpeg, nullptr, request);
        EXPECT_EQ(frame.image.rows, 2 * frame.image.cols) << frame.image.size();
        EXPECT_EQ(frame.sent_width, 80u);
        EXPECT_EQ(frame.sent_height, 160u);
    }
}

TEST(DecodeImage, PngShrinksAfterDecodingToTheSameSizeAsJpegWould)
{
    std::vector<std::uint8_t> png;
    cv::imencode(".png", pattern(801, 601), png);
    const auto frame = decode_image(png, ImageEncoding::png, nullptr, InputRequest{.min_width = 100, .min_height = 100});
    EXPECT_EQ(frame.format, AVA_PIXEL_FORMAT_BGR24);
    EXPECT_EQ(frame.image.size(), cv::Size(201, 151));
}

TEST(WrapRaw, ConvertsAndShrinksOnceAndLeavesAFrameThatIsRightInPlace)
{
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(400) * 300 * 3, 90);
    const RawLayout layout{RawPixelFormat::bgr24, 400, 300, 0};
    const auto in_place = wrap_raw(pixels, layout, InputRequest{.pixel_formats = AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_BGR24)});
    EXPECT_EQ(in_place.image.data, pixels.data()); // already what was asked: no copy
    const auto rgb = wrap_raw(pixels, layout,
                              InputRequest{.pixel_formats = rgb_bit, .min_width = 64, .min_height = 48, .exact_size = true});
    EXPECT_EQ(rgb.format, AVA_PIXEL_FORMAT_RGB24);
    EXPECT_EQ(rgb.image.size(), cv::Size(64, 48));
    EXPECT_NE(rgb.image.data, pixels.data());
    const auto gray = wrap_raw(pixels, layout, InputRequest{.pixel_formats = gray_bit, .min_width = 100, .min_height = 100});
    EXPECT_EQ(gray.format, AVA_PIXEL_FORMAT_GRAY8);
    EXPECT_EQ(gray.image.size(), cv::Size(200, 150)); // /2; /4 would be 100x75
    EXPECT_EQ(gray.image.at<std::uint8_t>(10, 10), 90);
}

TEST(WrapRaw, Yuv420pToAGrayAnalyzerIsItsLumaPlaneInPlace)
{
    constexpr int width = 8, height = 4;
    std::vector<std::uint8_t> yuv(width * height * 3 / 2, 128); // grey chroma
    for (int i = 0; i < width * height; ++i) {
        yuv[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i); // luma 0..31
    }
    const RawLayout layout{RawPixelFormat::yuv420p, width, height, 0};
    const auto gray = wrap_raw(yuv, layout, InputRequest{.pixel_formats = gray_bit});
    EXPECT_EQ(gray.format, AVA_PIXEL_FORMAT_GRAY8);
    EXPECT_EQ(gray.image.data, yuv.data()); // no copy, no conversion
    EXPECT_EQ(gray.image.at<std::uint8_t>(3, 7), 31);
    EXPECT_EQ(wrap_raw(yuv, layout).format, AVA_PIXEL_FORMAT_BGR24); // nothing declared: as before
}

} // namespace
} // namespace ava::frames
