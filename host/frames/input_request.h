#pragma once
// InputRequest: the frame an analyzer declared it needs (ABI 1.2 input_* fields), and the arithmetic that
// decides what it is handed. Decoding and converting no more than that is where the host saves the most:
// a JPEG decoded at 1/4 scale costs a fraction of a full decode.

#include <ava_plugin.h>

#include <cstdint>
#include <string>

namespace ava::frames {

struct Frame;

struct InputRequest {
    std::uint32_t pixel_formats = 0; // AVA_PIXEL_FORMAT_BIT set; 0: any
    std::uint32_t min_width = 0;     // 0 (with min_height): full size
    std::uint32_t min_height = 0;
    bool exact_size = false; // deliver exactly min_width x min_height

    bool declares_nothing() const noexcept { return pixel_formats == 0 && min_width == 0 && min_height == 0; }
    bool accepts(ava_pixel_format format) const noexcept
    {
        return pixel_formats == 0 || (pixel_formats & AVA_PIXEL_FORMAT_BIT(format)) != 0;
    }
    // "GRAY8, min 64x64", "any format, full size": for logs and GET /analyzers.
    std::string describe() const;
};

// Reads a descriptor's declaration. Bits of formats this host does not know are dropped (a newer plugin
// may name more); throws std::invalid_argument when none is left of a non-empty set, or a size is over
// the host's frame limits, or an exact size is not a whole size.
InputRequest input_request_of(std::uint32_t pixel_formats, std::uint32_t min_width, std::uint32_t min_height,
                              std::uint32_t flags);

struct FrameSize {
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    bool operator==(const FrameSize&) const = default;
};

// 1, 2, 4 or 8: the largest shrink that keeps both sides of a `sent` frame at least the requested size
// (rounding up, as libjpeg's DCT scaling does). 1 when nothing is requested or the frame is small already.
int reduction_for(FrameSize sent, const InputRequest& request) noexcept;

// What an analyzer is handed for a frame sent at `sent`, whose pixels arrive as `natural` (what the host
// decodes or wraps it to when nothing is declared). Unknown sizes (0) stay unknown.
FrameSize delivered_size(FrameSize sent, const InputRequest& request) noexcept;
ava_pixel_format delivered_format(ava_pixel_format natural, const InputRequest& request) noexcept;

// What adapt() makes of pixels that arrive at `now` in `format` for a frame sent at `sent`: the delivered
// size and format, and how many bytes it allocates for them (0 when the pixels are right already), so a
// decoder can reserve those in the memory budget before it decodes.
struct Adaptation {
    FrameSize size;
    ava_pixel_format format = AVA_PIXEL_FORMAT_UNKNOWN;
    bool resize = false, convert = false;
    std::uint64_t bytes = 0;
};
Adaptation adaptation_of(FrameSize now, ava_pixel_format format, FrameSize sent, const InputRequest& request) noexcept;

// Converts and shrinks `frame` in place to what `request` asks for, once: a frame already right is left as
// it is (still pointing at the sender's bytes). The result owns its pixels otherwise.
void adapt(Frame& frame, const InputRequest& request);

} // namespace ava::frames
