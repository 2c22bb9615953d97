#include "frame_decoder.h"

#include "image_codecs.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace ava::frames {
namespace {

// Largest frame we accept along one side: beyond any camera, small enough that width*height*4 never
// overflows and a lying header cannot make us allocate gigabytes.
constexpr std::uint32_t max_dimension = 16384;
// Largest compressed image we decode, in pixels: 64 Mpx (an 8K UHD frame is 33 Mpx), at most 192 MiB as BGR.
constexpr std::uint64_t max_pixels = std::uint64_t{1} << 26;

bool starts_with(std::span<const std::uint8_t> bytes, std::initializer_list<std::uint8_t> prefix)
{
    return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

std::uint32_t read_le32(std::span<const std::uint8_t> b, std::size_t at)
{
    return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
           static_cast<std::uint32_t>(b[at + 2]) << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}

std::uint32_t read_be32(std::span<const std::uint8_t> b, std::size_t at)
{
    return static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
           static_cast<std::uint32_t>(b[at + 2]) << 8 | static_cast<std::uint32_t>(b[at + 3]);
}

std::uint32_t read_be16(std::span<const std::uint8_t> b, std::size_t at)
{
    return static_cast<std::uint32_t>(b[at]) << 8 | static_cast<std::uint32_t>(b[at + 1]);
}

struct Size {
    std::uint64_t width = 0;
    std::uint64_t height = 0;
};

// The JPEG frame header (SOFn) holds the size; it comes before the first scan (SOS).
std::optional<Size> jpeg_size(std::span<const std::uint8_t> b)
{
    std::size_t at = 2;
    while (at + 4 <= b.size()) {
        if (b[at] != 0xFF) { // libjpeg skips stray bytes between segments (with a warning): so do we
            ++at;
            continue;
        }
        const std::uint8_t marker = b[at + 1];
        if (marker == 0xFF) { // fill byte
            ++at;
            continue;
        }
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { // no length field
            at += 2;
            continue;
        }
        if (marker == 0xDA) {
            return std::nullopt;
        }
        const auto length = read_be16(b, at + 2);
        if (length < 2) {
            return std::nullopt; // a length counts its own two bytes: the header is corrupt
        }
        const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (sof && length >= 7 && at + 9 <= b.size()) {
            return Size{read_be16(b, at + 7), read_be16(b, at + 5)};
        }
        at += 2 + length;
    }
    return std::nullopt;
}

// What the image says its size is, from its header, before anything is allocated for it.
std::optional<Size> declared_size(std::span<const std::uint8_t> b, ImageEncoding encoding)
{
    switch (encoding) {
    case ImageEncoding::jpeg:
        return jpeg_size(b);
    case ImageEncoding::png: // signature (8), IHDR length (4) and type (4), then width and height
        return b.size() >= 24 ? std::optional(Size{read_be32(b, 16), read_be32(b, 20)}) : std::nullopt;
    case ImageEncoding::bmp: {
        if (b.size() < 26) {
            return std::nullopt;
        }
        if (read_le32(b, 14) == 12) { // OS/2 BITMAPCOREHEADER: 16-bit sizes
            return Size{static_cast<std::uint64_t>(b[18] | b[19] << 8), static_cast<std::uint64_t>(b[20] | b[21] << 8)};
        }
        const auto width = static_cast<std::int32_t>(read_le32(b, 18));
        const auto height = static_cast<std::int32_t>(read_le32(b, 22)); // negative: rows stored top-down
        return Size{static_cast<std::uint64_t>(std::abs(static_cast<std::int64_t>(width))),
                    static_cast<std::uint64_t>(std::abs(static_cast<std::int64_t>(height)))};
    }
    }
    return std::nullopt;
}

// A few kilobytes of compressed data can declare a gigapixel image: refuse it before the decoder allocates.
void check_declared_size(std::span<const std::uint8_t> bytes, ImageEncoding encoding)
{
    const auto size = declared_size(bytes, encoding);
    if (!size) {
        // Never hand the decoder an image whose size we could not check.
        throw FrameError(std::string("corrupt ") + std::string(name_of(encoding)) +
                         ": no readable image size in its header");
    }
    if (size->width > max_dimension || size->height > max_dimension || size->width * size->height > max_pixels) {
        throw FrameError(std::string(name_of(encoding)) + " image declares " + std::to_string(size->width) + "x" +
                         std::to_string(size->height) + " pixels, over the limit of " + std::to_string(max_dimension) +
                         " per side and " + std::to_string(max_pixels) + " in all");
    }
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

Frame decode_image(std::span<const std::uint8_t> bytes, ImageEncoding encoding)
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
    check_declared_size(bytes, encoding);
    // imdecode reads through a Mat header over our bytes: no copy of the compressed data.
    const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<std::uint8_t*>(bytes.data()));
    Frame frame;
    try {
        frame.image = frames::imdecode(encoded, cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
        throw FrameError(std::string("cannot decode ") + std::string(name_of(encoding)) + ": " + e.err);
    }
    if (frame.image.empty()) {
        throw FrameError(std::string("cannot decode ") + std::string(name_of(encoding)) + ": corrupt image data");
    }
    frame.format = AVA_PIXEL_FORMAT_BGR24;
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

Frame wrap_raw(std::span<const std::uint8_t> bytes, const RawLayout& layout)
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
    return frame;
}

} // namespace ava::frames
