#include "frame_decoder.h"

#include "image_codecs.h"
#include "image_header.h"
#include "image_limits.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <string>

namespace ava::frames {
namespace {

bool starts_with(std::span<const std::uint8_t> bytes, std::initializer_list<std::uint8_t> prefix)
{
    return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

std::uint32_t read_le32(std::span<const std::uint8_t> b, std::size_t at)
{
    return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
           static_cast<std::uint32_t>(b[at + 2]) << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}

// A few kilobytes of compressed data can declare a gigapixel image: refuse it before the decoder allocates.
// The size comes from the decoder's own header reader, so it is the size the decoder will use.
ImageHeader checked_header(std::span<const std::uint8_t> bytes, ImageEncoding encoding)
{
    const auto header = read_image_header(bytes, encoding);
    if (header.width > max_dimension || header.height > max_dimension || header.width * header.height > max_pixels) {
        throw FrameError(std::string(name_of(encoding)) + " image declares " + std::to_string(header.width) + "x" +
                         std::to_string(header.height) + " pixels, over the limit of " + std::to_string(max_dimension) +
                         " per side and " + std::to_string(max_pixels) + " in all");
    }
    return header;
}

std::string_view sniff(std::span<const std::uint8_t> bytes)
{
    if (starts_with(bytes, {0xFF, 0xD8, 0xFF})) {
        return "JPEG";
    }
    if (starts_with(bytes, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})) {
        return "PNG";
    }
    if (starts_with(bytes, {'B', 'M'})) {
        return "BMP";
    }
    return "";
}

// Structural completeness checks: OpenCV decodes a truncated JPEG into a partly grey image with only a
// warning, so a cut-off upload would otherwise be analysed as if it were real.
void check_complete(std::span<const std::uint8_t> bytes, ImageEncoding encoding)
{
    switch (encoding) {
    case ImageEncoding::jpeg: {
        // Some encoders pad after EOI; allow trailing zero bytes.
        auto end = bytes.size();
        while (end > 2 && bytes[end - 1] == 0) {
            --end;
        }
        if (end < 4 || bytes[end - 2] != 0xFF || bytes[end - 1] != 0xD9) {
            throw FrameError("truncated JPEG: no end-of-image marker (FFD9) at the end of the body");
        }
        break;
    }
    case ImageEncoding::png: {
        static constexpr std::uint8_t iend[] = {'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
        if (bytes.size() < 8 + 12 + 12 || !std::equal(std::begin(iend), std::end(iend), bytes.end() - 8)) {
            throw FrameError("truncated PNG: the body does not end with the IEND chunk");
        }
        break;
    }
    case ImageEncoding::bmp: {
        if (bytes.size() < 26) {
            throw FrameError("truncated BMP: shorter than its headers");
        }
        const std::uint32_t declared = read_le32(bytes, 2);
        if (declared != 0 && declared > bytes.size()) {
            throw FrameError("truncated BMP: header declares " + std::to_string(declared) + " bytes, body has " +
                             std::to_string(bytes.size()));
        }
        break;
    }
    }
}

// How to call the decoder for what the analyzer asked: JPEG decodes at a DCT scale and straight to gray in
// libjpeg itself (OpenCV's IMREAD_REDUCED_*); PNG and BMP decode whole and adapt() shrinks them after.
struct DecodePlan {
    int flags = cv::IMREAD_COLOR;
    bool gray = false;
    std::uint64_t bytes = 0; // what the decoder allocates
};

DecodePlan decode_plan_for(const ImageHeader& header, ImageEncoding encoding, const InputRequest& request)
{
    DecodePlan plan;
    plan.gray = delivered_format(AVA_PIXEL_FORMAT_BGR24, request) == AVA_PIXEL_FORMAT_GRAY8;
    const FrameSize sent{static_cast<std::uint32_t>(header.width), static_cast<std::uint32_t>(header.height)};
    const auto decoded_format = plan.gray ? AVA_PIXEL_FORMAT_GRAY8 : AVA_PIXEL_FORMAT_BGR24;
    if (encoding != ImageEncoding::jpeg) {
        plan.flags = plan.gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
        // adapt() then shrinks the whole picture into a buffer of its own.
        plan.bytes = header.decode_bytes + adaptation_of(sent, decoded_format, sent, request).bytes;
        return plan;
    }
    const int by = reduction_for(sent, request);
    switch (by) {
    case 2: plan.flags = plan.gray ? cv::IMREAD_REDUCED_GRAYSCALE_2 : cv::IMREAD_REDUCED_COLOR_2; break;
    case 4: plan.flags = plan.gray ? cv::IMREAD_REDUCED_GRAYSCALE_4 : cv::IMREAD_REDUCED_COLOR_4; break;
    case 8: plan.flags = plan.gray ? cv::IMREAD_REDUCED_GRAYSCALE_8 : cv::IMREAD_REDUCED_COLOR_8; break;
    default: plan.flags = plan.gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR; break;
    }
    const auto sides = [by](std::uint64_t side) { return (side + static_cast<std::uint64_t>(by) - 1) / static_cast<std::uint64_t>(by); };
    // A progressive JPEG's coefficient buffers stay full size; only the output shrinks.
    plan.bytes = header.decode_bytes - header.width * header.height * 3 +
                 sides(header.width) * sides(header.height) * (plan.gray ? 1U : 3U);
    // adapt() allocates the delivered frame when the scaled decode is not it already (an exact size).
    const FrameSize decoded{static_cast<std::uint32_t>(sides(header.width)), static_cast<std::uint32_t>(sides(header.height))};
    plan.bytes += adaptation_of(decoded, decoded_format, sent, request).bytes;
    return plan;
}

} // namespace

std::string_view name_of(ImageEncoding encoding)
{
    switch (encoding) {
    case ImageEncoding::jpeg:
        return "JPEG";
    case ImageEncoding::png:
        return "PNG";
    case ImageEncoding::bmp:
        return "BMP";
    }
    return "?";
}

Frame decode_image(std::span<const std::uint8_t> bytes, ImageEncoding encoding, runtime::MemoryBudget* budget,
                   const InputRequest& request)
{
    if (bytes.empty()) {
        throw FrameError("empty image");
    }
    const auto actual = sniff(bytes);
    if (actual.empty()) {
        throw FrameError(std::string("body is not a ") + std::string(name_of(encoding)) + " image (unrecognised signature)");
    }
    if (actual != name_of(encoding)) {
        throw FrameError(std::string("body is a ") + std::string(actual) + " image but was declared " +
                         std::string(name_of(encoding)));
    }
    check_complete(bytes, encoding);
    const auto header = checked_header(bytes, encoding);
    const auto plan = decode_plan_for(header, encoding, request);
    Frame frame;
    if (budget != nullptr) {
        auto reservation = budget->reserve_within(static_cast<std::size_t>(plan.bytes), budget_patience);
        if (!reservation) {
            throw FrameBudgetExceeded("no memory left to decode a " + std::to_string(header.width) + "x" +
                                      std::to_string(header.height) + " " + std::string(name_of(encoding)) +
                                      " image: too many frame bytes in flight, retry later");
        }
        frame.reservation = std::move(*reservation);
    }
    // imdecode reads through a Mat header over our bytes: no copy of the compressed data.
    const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<std::uint8_t*>(bytes.data()));
    try {
        frame.image = frames::imdecode(encoded, plan.flags);
    } catch (const cv::Exception& e) {
        throw FrameError(std::string("cannot decode ") + std::string(name_of(encoding)) + ": " + e.err);
    }
    if (frame.image.empty()) {
        throw FrameError(std::string("cannot decode ") + std::string(name_of(encoding)) + ": corrupt image data");
    }
    frame.format = plan.gray ? AVA_PIXEL_FORMAT_GRAY8 : AVA_PIXEL_FORMAT_BGR24;
    frame.sent_width = static_cast<std::uint32_t>(header.width);
    frame.sent_height = static_cast<std::uint32_t>(header.height);
    // imdecode turns a JPEG as its EXIF orientation says: then the picture sent is the header's size turned
    // a quarter, and adapt() must aim at that shape (at any DCT scale) or it would squash the picture.
    const auto cols = static_cast<std::int64_t>(frame.image.cols);
    const auto rows = static_cast<std::int64_t>(frame.image.rows);
    const auto width = static_cast<std::int64_t>(header.width);
    const auto height = static_cast<std::int64_t>(header.height);
    if (std::llabs(cols * width - rows * height) < std::llabs(cols * height - rows * width)) {
        std::swap(frame.sent_width, frame.sent_height);
    }
    adapt(frame, request);
    return frame;
}

void validate_raw_layout(const RawLayout& layout)
{
    if (layout.width == 0 || layout.height == 0) {
        throw FrameError("raw frame dimensions must be non-zero (got " + std::to_string(layout.width) + "x" +
                         std::to_string(layout.height) + ")");
    }
    if (layout.width > max_dimension || layout.height > max_dimension) {
        throw FrameError("raw frame dimensions " + std::to_string(layout.width) + "x" + std::to_string(layout.height) +
                         " exceed the maximum of " + std::to_string(max_dimension));
    }
    const auto row = min_row_bytes(layout.format, layout.width);
    if (layout.stride != 0 && layout.stride < row) {
        throw FrameError("stride " + std::to_string(layout.stride) + " is smaller than one row of " +
                         std::to_string(layout.width) + " " + std::string(name_of(layout.format)) + " pixels (" +
                         std::to_string(row) + " bytes)");
    }
    if (layout.format == RawPixelFormat::yuv420p &&
        (layout.width % 2 != 0 || layout.height % 2 != 0 || (layout.stride != 0 && layout.stride != layout.width))) {
        throw FrameError("yuv420p frames must have even dimensions and packed rows (stride = width)");
    }
}

Frame wrap_raw(std::span<const std::uint8_t> bytes, const RawLayout& layout, const InputRequest& request)
{
    validate_raw_layout(layout);
    const std::uint64_t stride = layout.stride != 0 ? layout.stride : min_row_bytes(layout.format, layout.width);
    const std::uint64_t expected = frame_bytes(layout.format, layout.width, layout.height, stride);
    if (bytes.size() != expected) {
        throw FrameError("raw " + std::string(name_of(layout.format)) + " frame " + std::to_string(layout.width) + "x" +
                         std::to_string(layout.height) + " with stride " + std::to_string(stride) + " needs " +
                         std::to_string(expected) + " bytes, got " + std::to_string(bytes.size()));
    }
    const int rows = static_cast<int>(layout.height);
    const int cols = static_cast<int>(layout.width);
    auto* data = const_cast<std::uint8_t*>(bytes.data()); // read-only by contract: analyzers get const data
    const auto step = static_cast<std::size_t>(stride);
    Frame frame;
    switch (layout.format) {
    case RawPixelFormat::gray8:
        frame.image = cv::Mat(rows, cols, CV_8UC1, data, step);
        frame.format = AVA_PIXEL_FORMAT_GRAY8;
        break;
    case RawPixelFormat::bgr24:
        frame.image = cv::Mat(rows, cols, CV_8UC3, data, step);
        frame.format = AVA_PIXEL_FORMAT_BGR24;
        break;
    case RawPixelFormat::rgb24:
        frame.image = cv::Mat(rows, cols, CV_8UC3, data, step);
        frame.format = AVA_PIXEL_FORMAT_RGB24;
        break;
    case RawPixelFormat::bgra:
        frame.image = cv::Mat(rows, cols, CV_8UC4, data, step);
        frame.format = AVA_PIXEL_FORMAT_BGRA32;
        break;
    case RawPixelFormat::rgba:
        frame.image = cv::Mat(rows, cols, CV_8UC4, data, step);
        frame.format = AVA_PIXEL_FORMAT_RGBA32;
        break;
    case RawPixelFormat::argb:
    case RawPixelFormat::abgr: {
        // Move alpha last: ARGB -> BGRA is a byte reversal (B,G,R,A); ABGR -> BGRA rotates (B,G,R from 1..3).
        const cv::Mat source(rows, cols, CV_8UC4, data, step);
        frame.image.create(rows, cols, CV_8UC4);
        const int argb_to_bgra[] = {3, 0, 2, 1, 1, 2, 0, 3};
        const int abgr_to_bgra[] = {1, 0, 2, 1, 3, 2, 0, 3};
        cv::mixChannels(&source, 1, &frame.image, 1,
                        layout.format == RawPixelFormat::argb ? argb_to_bgra : abgr_to_bgra, 4);
        frame.format = AVA_PIXEL_FORMAT_BGRA32;
        break;
    }
    case RawPixelFormat::yuv420p:
        if (delivered_format(AVA_PIXEL_FORMAT_BGR24, request) == AVA_PIXEL_FORMAT_GRAY8) {
            // The luma plane is the gray frame: read in place, no conversion at all.
            frame.image = cv::Mat(rows, cols, CV_8UC1, data, step);
            frame.format = AVA_PIXEL_FORMAT_GRAY8;
            break;
        }
        cv::cvtColor(cv::Mat(rows * 3 / 2, cols, CV_8UC1, data), frame.image, cv::COLOR_YUV2BGR_I420);
        frame.format = AVA_PIXEL_FORMAT_BGR24;
        break;
    case RawPixelFormat::rgb565le:
    case RawPixelFormat::rgb565be:
    case RawPixelFormat::rgb555le:
    case RawPixelFormat::rgb555be: {
        cv::Mat source(rows, cols, CV_8UC2, data, step);
        cv::Mat little_endian;
        const bool big = layout.format == RawPixelFormat::rgb565be || layout.format == RawPixelFormat::rgb555be;
        if (big) {
            const int swap[] = {0, 1, 1, 0};
            little_endian.create(rows, cols, CV_8UC2);
            cv::mixChannels(&source, 1, &little_endian, 1, swap, 2);
        }
        const bool is565 = layout.format == RawPixelFormat::rgb565le || layout.format == RawPixelFormat::rgb565be;
        // OpenCV's "BGR565" is the 16-bit word with red in the high bits, i.e. FFmpeg's rgb565le.
        cv::cvtColor(big ? little_endian : source, frame.image, is565 ? cv::COLOR_BGR5652BGR : cv::COLOR_BGR5552BGR);
        frame.format = AVA_PIXEL_FORMAT_BGR24;
        break;
    }
    }
    frame.sent_width = layout.width;
    frame.sent_height = layout.height;
    adapt(frame, request);
    return frame;
}

} // namespace ava::frames
