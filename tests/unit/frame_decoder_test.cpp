#include "frames/frame_decoder.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
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
    EXPECT_THROW(decode_image({}, ImageEncoding::jpeg, nullptr), FrameError);
    const std::vector<std::uint8_t> junk(64, 0x42);
    EXPECT_THROW(decode_image(bytes_of(junk), ImageEncoding::png, nullptr), FrameError);
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

std::uint32_t crc32(const std::uint8_t* data, std::size_t size)
{
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

TEST(DecodeImage, RealImagesDecodeAtTheirSize)
{
    for (const auto& [extension, encoding] : {std::pair{".jpg", ImageEncoding::jpeg}, std::pair{".png", ImageEncoding::png},
                                              std::pair{".bmp", ImageEncoding::bmp}}) {
        const auto bytes = encoded(extension);
        const auto frame = decode_image(bytes_of(bytes), encoding, nullptr);
        EXPECT_EQ(frame.image.size(), cv::Size(32, 16)) << extension;
    }
}

// A small file whose header declares a huge image is refused before the decoder allocates for it.
TEST(DecodeImage, RefusesImagesDeclaringTooManyPixels)
{
    auto png = encoded(".png");
    put_be(png, 16, 40000, 4); // IHDR width
    put_be(png, 29, crc32(png.data() + 12, 17), 4); // libpng checks IHDR's CRC
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
            decode_image(bytes_of(bytes), encoding, nullptr);
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
        decode_image(bytes_of(jpeg), ImageEncoding::jpeg, nullptr);
        ADD_FAILURE() << "decoded";
    } catch (const FrameError& e) {
        EXPECT_NE(std::string(e.what()).find("corrupt JPEG"), std::string::npos) << e.what();
    }
}

// The bomb of issue 10 item 3: `FF 00 00 06` after SOI is junk libjpeg skips, but a naive header scan reads
// it as a segment 6 bytes long and lands inside the COM segment that follows, on a fake 16x16 SOF. libjpeg
// skips the COM and uses the real SOF0 after it, which declares 30000x30000.
std::vector<std::uint8_t> jpeg_bomb()
{
    auto real = encoded(".jpg");
    const auto sof = jpeg_sof(real);
    put_be(real, sof + 5, 30000, 2);
    put_be(real, sof + 7, 30000, 2);
    const std::vector<std::uint8_t> fake_sof{0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10, 0x03,
                                             0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01};
    std::vector<std::uint8_t> bomb{0xFF, 0xD8, 0xFF, 0x00, 0x00, 0x06, 0xFF, 0xFE, 0x00,
                                   static_cast<std::uint8_t>(2 + fake_sof.size())};
    bomb.insert(bomb.end(), fake_sof.begin(), fake_sof.end());
    bomb.insert(bomb.end(), real.begin() + 2, real.end());
    return bomb;
}

// A valid PNG whose IHDR (with a correct CRC) declares 100000x100000.
std::vector<std::uint8_t> png_bomb()
{
    auto png = encoded(".png");
    put_be(png, 16, 100000, 4);
    put_be(png, 20, 100000, 4);
    put_be(png, 29, crc32(png.data() + 12, 17), 4); // over "IHDR" and its 13 data bytes
    return png;
}

std::vector<std::uint8_t> bmp_bomb()
{
    auto bmp = encoded(".bmp");
    put_le32(bmp, 18, 30000);
    put_le32(bmp, 22, static_cast<std::uint32_t>(-30000));
    return bmp;
}

void expect_refused(const std::vector<std::uint8_t>& bytes, ImageEncoding encoding, const std::string& message)
{
    const auto started = std::chrono::steady_clock::now();
    try {
        decode_image(bytes_of(bytes), encoding, nullptr);
        ADD_FAILURE() << name_of(encoding) << " was decoded";
    } catch (const FrameError& e) {
        EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(200)) << name_of(encoding);
}

TEST(DecodeImage, RefusesBombsAtTheSizeTheDecoderReads)
{
    expect_refused(jpeg_bomb(), ImageEncoding::jpeg, "30000x30000 pixels, over the limit");
    expect_refused(png_bomb(), ImageEncoding::png, "100000x100000 pixels, over the limit");
    expect_refused(bmp_bomb(), ImageEncoding::bmp, "30000x30000 pixels, over the limit");
}

TEST(DecodeImage, RefusesHeadersTheDecoderWouldNotRead)
{
    auto png = encoded(".png");
    png[12] = 'i'; // the first chunk is no longer IHDR, whatever it holds
    expect_refused(png, ImageEncoding::png, "corrupt PNG");
    auto bad_crc = png_bomb();
    bad_crc[30] ^= 0xFF;
    expect_refused(bad_crc, ImageEncoding::png, "corrupt PNG");
    auto bmp = encoded(".bmp");
    put_le32(bmp, 14, 20); // no BMP info header is 20 bytes long: OpenCV reads no size from it
    expect_refused(bmp, ImageEncoding::bmp, "unsupported info header size 20");
    auto negative = encoded(".bmp");
    put_le32(negative, 18, static_cast<std::uint32_t>(-32));
    expect_refused(negative, ImageEncoding::bmp, "corrupt BMP");
}

// The OS/2 header (12 bytes) has 16-bit sizes at other offsets; OpenCV reads them, so must we.
TEST(DecodeImage, ReadsBmpCoreHeaderSizes)
{
    std::vector<std::uint8_t> bmp(14 + 12 + 4 * 3 + 2, 0); // 4x1 24-bit pixels, rows padded to 4 bytes
    bmp[0] = 'B';
    bmp[1] = 'M';
    put_le32(bmp, 2, static_cast<std::uint32_t>(bmp.size()));
    put_le32(bmp, 10, 26);
    put_le32(bmp, 14, 12);
    bmp[18] = 4;  // width
    bmp[20] = 1;  // height
    bmp[22] = 1;  // planes
    bmp[24] = 24; // bits per pixel
    EXPECT_EQ(decode_image(bytes_of(bmp), ImageEncoding::bmp, nullptr).image.size(), cv::Size(4, 1));
    bmp[19] = 0x60; // width 0x6004 = 24580
    expect_refused(bmp, ImageEncoding::bmp, "24580x1 pixels, over the limit");
}

TEST(DecodeImage, HoldsItsShareOfTheMemoryBudget)
{
    runtime::MemoryBudget budget(1 << 20);
    const auto png = encoded(".png");
    {
        const auto frame = decode_image(bytes_of(png), ImageEncoding::png, &budget);
        EXPECT_EQ(frame.reservation.bytes(), 32u * 16u * 3u);
        EXPECT_EQ(budget.in_use(), 32u * 16u * 3u);
    }
    EXPECT_EQ(budget.in_use(), 0u);
}

TEST(DecodeImage, RefusesWhenTheBudgetHasNoRoom)
{
    runtime::MemoryBudget budget(1000);
    const auto others = budget.try_reserve(1000); // frames in flight elsewhere hold it all
    ASSERT_TRUE(others.has_value());
    const auto png = encoded(".png");
    const auto started = std::chrono::steady_clock::now();
    EXPECT_THROW(decode_image(bytes_of(png), ImageEncoding::png, &budget), FrameBudgetExceeded);
    EXPECT_GE(std::chrono::steady_clock::now() - started, budget_patience - std::chrono::milliseconds(10));
    EXPECT_EQ(budget.in_use(), 1000u);
}

TEST(PixelFormat, ParsesNamesCaseInsensitively)
{
    EXPECT_EQ(parse_raw_pixel_format("BGR24"), RawPixelFormat::bgr24);
    EXPECT_EQ(parse_raw_pixel_format("rgb555be"), RawPixelFormat::rgb555be);
    EXPECT_FALSE(parse_raw_pixel_format("cmyk").has_value());
}

} // namespace
} // namespace ava::frames
