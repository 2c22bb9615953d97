#pragma once
// Raw pixel formats a sender may use (the AVA contract's list), and how each reaches an analyzer.

#include <ava_plugin.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace ava::frames {

enum class RawPixelFormat {
    gray8,
    bgr24,
    rgb24,
    bgra,
    rgba,
    argb,
    abgr,
    yuv420p,
    rgb565le,
    rgb565be,
    rgb555le,
    rgb555be,
};

// "bgr24", "rgb24", "bgra", "rgba", "argb", "abgr", "gray8", "yuv420p", "rgb565le", ... (case-insensitive)
std::optional<RawPixelFormat> parse_raw_pixel_format(std::string_view name);
std::string_view name_of(RawPixelFormat format);

// Bytes one row of `width` pixels needs (for yuv420p: the luma row).
std::uint64_t min_row_bytes(RawPixelFormat format, std::uint32_t width);

// Total bytes a frame needs at the given stride (yuv420p: planar, stride applies to luma; chroma rows at
// half stride, as FFmpeg lays it out).
std::uint64_t frame_bytes(RawPixelFormat format, std::uint32_t width, std::uint32_t height, std::uint64_t stride);

// True when analyzers can read this format in place (no conversion, no copy).
bool is_native(RawPixelFormat format);

} // namespace ava::frames
