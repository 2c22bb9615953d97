#pragma once
// Turns received bytes into a Frame: compressed images decoded once with OpenCV; raw pixels wrapped in
// place when analyzers can read them as they are, converted once otherwise. Throws FrameError.

#include "frame.h"
#include "input_request.h"
#include "pixel_format.h"

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

namespace ava::frames {

enum class ImageEncoding { jpeg, png, bmp };

std::string_view name_of(ImageEncoding encoding);

// How long decode_image waits for room in the memory budget before giving up.
inline constexpr std::chrono::milliseconds budget_patience{1000};

// Checks that the bytes are a complete image of the stated encoding (a truncated JPEG or PNG is refused,
// not half-decoded) and that the size the decoder reads from its header is within the limits
// (image_limits.h), reserves the decoded size from `budget` (null: no budget, for tests and tools), then
// decodes to what `request` asks for: BGR24 at full size when it asks nothing; a JPEG straight to the
// smallest DCT scale (1/2, 1/4, 1/8) that covers the requested size, in GRAY8 when that is the format
// asked for; then adapt(). The Frame holds the reservation. Throws FrameError for a bad image,
// FrameBudgetExceeded when the budget has no room within budget_patience, CodecUnavailable
// (image_codecs.h) when OpenCV's codecs cannot be loaded.
Frame decode_image(std::span<const std::uint8_t> bytes, ImageEncoding encoding, runtime::MemoryBudget* budget,
                   const InputRequest& request = {});

struct RawLayout {
    RawPixelFormat format = RawPixelFormat::bgr24;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    std::uint64_t stride = 0; // 0: rows are packed
};

// Validates a raw layout on its own (dimensions, stride): used at stream set-up before any frame arrives.
void validate_raw_layout(const RawLayout& layout);

// `bytes` must hold exactly the frame the layout describes. Native formats are wrapped without a copy
// (the Frame then points into `bytes`); others are converted to BGR24. Then adapt(frame, request): a frame
// already as requested stays in place.
Frame wrap_raw(std::span<const std::uint8_t> bytes, const RawLayout& layout, const InputRequest& request = {});

} // namespace ava::frames
