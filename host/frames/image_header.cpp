#include "image_header.h"

// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ava::frames {
namespace {

// Both C libraries report a fatal error by calling our handler, which must not return: it longjmps back
// to the setjmp in the reader below. Only trivially destructible locals live between the two, so no
// destructor is skipped; the message is copied into a fixed buffer for the same reason.
constexpr std::size_t message_capacity = 200;

void copy_message(char (&to)[message_capacity], const char* from)
{
    const std::size_t length = std::min(std::strlen(from), message_capacity - 1);
    std::memcpy(to, from, length);
    to[length] = '\0';
}

struct JpegErrors {
    jpeg_error_mgr manager; // first: libjpeg hands back a pointer to it
    std::jmp_buf jump;
    char message[message_capacity];
};

[[noreturn]] void jpeg_fail(j_common_ptr info)
{
    auto* errors = reinterpret_cast<JpegErrors*>(info->err);
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    copy_message(errors->message, text);
    std::longjmp(errors->jump, 1);
}

// Warnings (e.g. stray bytes between markers) and trace messages: libjpeg would print them to stderr.
void jpeg_quiet(j_common_ptr, int) {}

struct Outcome {
    bool ok = false;
    ImageHeader header;
    char message[message_capacity] = {};
};

void read_jpeg(std::span<const std::uint8_t> bytes, Outcome& out)
{
    jpeg_decompress_struct info{};
    JpegErrors errors{};
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = &jpeg_fail;
    errors.manager.emit_message = &jpeg_quiet;
    if (setjmp(errors.jump) != 0) {
        jpeg_destroy_decompress(&info);
        copy_message(out.message, errors.message);
        return;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
    if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) {
        copy_message(out.message, "no image in the data stream");
    } else {
        const std::uint64_t pixels = std::uint64_t{info.image_width} * info.image_height;
        out.header.width = info.image_width;
        out.header.height = info.image_height;
        // A multi-scan JPEG is decoded through coefficient buffers for the whole image (2 bytes a sample).
        const std::uint64_t coefficients =
            jpeg_has_multiple_scans(&info) ? pixels * static_cast<std::uint64_t>(info.num_components) * 2 : 0;
        out.header.decode_bytes = pixels * 3 + coefficients;
        out.ok = true;
    }
    jpeg_destroy_decompress(&info);
}

struct PngSource {
    std::span<const std::uint8_t> bytes;
    std::size_t at = 0;
    char message[message_capacity] = {};
};

[[noreturn]] void png_fail(png_structp png, png_const_charp message)
{
    copy_message(static_cast<PngSource*>(png_get_error_ptr(png))->message, message);
    png_longjmp(png, 1);
}

void png_quiet(png_structp, png_const_charp) {}

void png_read_memory(png_structp png, png_bytep to, png_size_t length)
{
    auto& source = *static_cast<PngSource*>(png_get_io_ptr(png));
    if (length > source.bytes.size() - source.at) {
        png_error(png, "unexpected end of data");
    }
    std::memcpy(to, source.bytes.data() + source.at, length);
    source.at += length;
}

void read_png(std::span<const std::uint8_t> bytes, Outcome& out)
{
    PngSource source{bytes};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, &png_fail, &png_quiet);
    png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
    if (info == nullptr) {
        png_destroy_read_struct(&png, nullptr, nullptr);
        copy_message(out.message, "out of memory");
        return;
    }
    if (setjmp(png_jmpbuf(png)) != 0) {
        png_destroy_read_struct(&png, &info, nullptr);
        copy_message(out.message, source.message);
        return;
    }
    png_set_read_fn(png, &source, &png_read_memory);
    png_read_info(png, info); // the signature, then IHDR (which must come first) and the chunks up to IDAT
    out.header.width = png_get_image_width(png, info);
    out.header.height = png_get_image_height(png, info);
    out.header.decode_bytes = out.header.width * out.header.height * 3;
    out.ok = true;
    png_destroy_read_struct(&png, &info, nullptr);
}

std::uint32_t read_le32(std::span<const std::uint8_t> b, std::size_t at)
{
    return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
           static_cast<std::uint32_t>(b[at + 2]) << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}

// Exactly the fields OpenCV 4.6's BmpDecoder::readHeader reads: the info header's size at 14, then 32-bit
// signed sizes for any header of 36 bytes or more (BITMAPINFOHEADER and its successors: 40, 52, 56, 108,
// 124), 16-bit ones for the 12-byte OS/2 BITMAPCOREHEADER, and nothing it can decode for other sizes.
void read_bmp(std::span<const std::uint8_t> bytes, Outcome& out)
{
    if (bytes.size() < 26) {
        copy_message(out.message, "shorter than its headers");
        return;
    }
    const auto header_size = static_cast<std::int32_t>(read_le32(bytes, 14));
    std::int64_t width = 0;
    std::int64_t height = 0;
    if (header_size >= 36) {
        width = static_cast<std::int32_t>(read_le32(bytes, 18));
        height = static_cast<std::int32_t>(read_le32(bytes, 22)); // negative: rows stored top-down
    } else if (header_size == 12) {
        width = bytes[18] | bytes[19] << 8;
        height = bytes[20] | bytes[21] << 8;
    } else {
        copy_message(out.message, ("unsupported info header size " + std::to_string(header_size)).c_str());
        return;
    }
    if (width <= 0 || height == 0) {
        copy_message(out.message, ("invalid size " + std::to_string(width) + "x" + std::to_string(height)).c_str());
        return;
    }
    out.header.width = static_cast<std::uint64_t>(width);
    out.header.height = static_cast<std::uint64_t>(std::abs(height)); // 64-bit: |INT32_MIN| fits
    out.header.decode_bytes = out.header.width * out.header.height * 3;
    out.ok = true;
}

} // namespace

ImageHeader read_image_header(std::span<const std::uint8_t> bytes, ImageEncoding encoding)
{
    Outcome out;
    switch (encoding) {
    case ImageEncoding::jpeg:
        read_jpeg(bytes, out);
        break;
    case ImageEncoding::png:
        read_png(bytes, out);
        break;
    case ImageEncoding::bmp:
        read_bmp(bytes, out);
        break;
    }
    if (!out.ok) {
        // Never hand the decoder an image whose size could not be read.
        throw FrameError("corrupt " + std::string(name_of(encoding)) + ": no readable image size in its header (" +
                         out.message + ")");
    }
    return out.header;
}

} // namespace ava::frames
