#include "pixel_format.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>

namespace ava::frames {
namespace {

constexpr std::array<std::pair<std::string_view, RawPixelFormat>, 12> names{{
    {"gray8", RawPixelFormat::gray8},
    {"bgr24", RawPixelFormat::bgr24},
    {"rgb24", RawPixelFormat::rgb24},
    {"bgra", RawPixelFormat::bgra},
    {"rgba", RawPixelFormat::rgba},
    {"argb", RawPixelFormat::argb},
    {"abgr", RawPixelFormat::abgr},
    {"yuv420p", RawPixelFormat::yuv420p},
    {"rgb565le", RawPixelFormat::rgb565le},
    {"rgb565be", RawPixelFormat::rgb565be},
    {"rgb555le", RawPixelFormat::rgb555le},
    {"rgb555be", RawPixelFormat::rgb555be},
}};

std::uint32_t bytes_per_pixel(RawPixelFormat format)
{
    switch (format) {
    case RawPixelFormat::gray8:
    case RawPixelFormat::yuv420p:
        return 1;
    case RawPixelFormat::rgb565le:
    case RawPixelFormat::rgb565be:
    case RawPixelFormat::rgb555le:
    case RawPixelFormat::rgb555be:
        return 2;
    case RawPixelFormat::bgr24:
    case RawPixelFormat::rgb24:
        return 3;
    default:
        return 4;
    }
}

} // namespace

std::optional<RawPixelFormat> parse_raw_pixel_format(std::string_view name)
{
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const auto& [text, format] : names) {
        if (text == lower) {
            return format;
        }
    }
    return std::nullopt;
}

std::string_view name_of(RawPixelFormat format)
{
    for (const auto& [text, f] : names) {
        if (f == format) {
            return text;
        }
    }
    return "unknown";
}

std::uint64_t min_row_bytes(RawPixelFormat format, std::uint32_t width)
{
    return static_cast<std::uint64_t>(width) * bytes_per_pixel(format);
}

std::uint64_t frame_bytes(RawPixelFormat format, std::uint32_t /*width*/, std::uint32_t height, std::uint64_t stride)
{
    if (format == RawPixelFormat::yuv420p) {
        const std::uint64_t chroma_rows = (height + 1) / 2;
        const std::uint64_t chroma_stride = (stride + 1) / 2;
        return stride * height + 2 * chroma_stride * chroma_rows;
    }
    return stride * height;
}

bool is_native(RawPixelFormat format)
{
    switch (format) {
    case RawPixelFormat::gray8:
    case RawPixelFormat::bgr24:
    case RawPixelFormat::rgb24:
    case RawPixelFormat::bgra:
    case RawPixelFormat::rgba:
        return true;
    default:
        return false;
    }
}

} // namespace ava::frames
