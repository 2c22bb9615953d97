#pragma once
// What an encoded image's header says, read the way the decoder itself will read it: libjpeg's
// jpeg_read_header for JPEG, libpng's png_read_info for PNG, and the fields OpenCV 4.6's BmpDecoder
// reads for BMP. Checking a size we parsed ourselves is not enough: a header scan of our own can be
// steered to a different frame header than the one the decoder then uses (a decompression bomb).

#include "frame_decoder.h"

#include <cstdint>
#include <span>

namespace ava::frames {

struct ImageHeader {
    std::uint64_t width = 0;
    std::uint64_t height = 0;
    // Bytes the decoder will hold for this image: the BGR output, plus libjpeg's whole-image coefficient
    // buffers for a multi-scan (e.g. progressive) JPEG.
    std::uint64_t decode_bytes = 0;
};

// Throws FrameError ("corrupt <encoding>: no readable image size ...") when the decoder would not get past the header. Reads no
// pixel data and allocates a few kilobytes at most.
ImageHeader read_image_header(std::span<const std::uint8_t> bytes, ImageEncoding encoding);

} // namespace ava::frames
