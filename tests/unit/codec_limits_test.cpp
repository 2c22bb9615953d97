// OpenCV's decoder enforces the host's image limits by itself (the second layer behind frame_decoder's
// header check). A separate executable that does not link libopencv_imgcodecs: the host loads it lazily,
// after image_codecs.cpp has set OPENCV_IO_MAX_IMAGE_* during static initialisation, and so does this test.

#include "frames/image_codecs.h"
#include "frames/image_limits.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <string>
#include <vector>

namespace ava::frames {
namespace {

void put_le(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v, std::size_t bytes)
{
    for (std::size_t i = 0; i < bytes; ++i) {
        b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
}

// A 24-bit BMP, `width` x 1, written by hand: this executable has no encoder.
cv::Mat bmp_row(std::uint32_t width, std::vector<std::uint8_t>& storage)
{
    const std::uint32_t row = (width * 3 + 3) / 4 * 4;
    storage.assign(54 + row, 0x80);
    storage[0] = 'B';
    storage[1] = 'M';
    put_le(storage, 2, static_cast<std::uint32_t>(storage.size()), 4);
    put_le(storage, 6, 0, 4);
    put_le(storage, 10, 54, 4);
    put_le(storage, 14, 40, 4);
    put_le(storage, 18, width, 4);
    put_le(storage, 22, 1, 4);
    put_le(storage, 26, 1, 2);
    put_le(storage, 28, 24, 2);
    put_le(storage, 30, 0, 4);
    put_le(storage, 34, row, 4);
    put_le(storage, 38, 2835, 4);
    put_le(storage, 42, 2835, 4);
    put_le(storage, 46, 0, 4);
    put_le(storage, 50, 0, 4);
    return cv::Mat(1, static_cast<int>(storage.size()), CV_8UC1, storage.data());
}

TEST(CodecLimits, AreInTheEnvironmentBeforeTheCodecsLoad)
{
    ASSERT_NE(std::getenv("OPENCV_IO_MAX_IMAGE_WIDTH"), nullptr);
    EXPECT_EQ(std::string(std::getenv("OPENCV_IO_MAX_IMAGE_WIDTH")), std::to_string(max_dimension));
    EXPECT_EQ(std::string(std::getenv("OPENCV_IO_MAX_IMAGE_HEIGHT")), std::to_string(max_dimension));
    EXPECT_EQ(std::string(std::getenv("OPENCV_IO_MAX_IMAGE_PIXELS")), std::to_string(max_pixels));
}

// OpenCV's default width limit is 2^20: 20000 passes it, so only our limit can refuse this image.
TEST(CodecLimits, OpenCvRefusesAnImageOverThemOnItsOwn)
{
    std::vector<std::uint8_t> storage;
    const auto inside = imdecode(bmp_row(max_dimension, storage), cv::IMREAD_COLOR);
    EXPECT_EQ(inside.size(), cv::Size(static_cast<int>(max_dimension), 1));
    bool refused = false;
    try {
        refused = imdecode(bmp_row(20000, storage), cv::IMREAD_COLOR).empty();
    } catch (const cv::Exception&) {
        refused = true;
    }
    EXPECT_TRUE(refused);
}

} // namespace
} // namespace ava::frames
