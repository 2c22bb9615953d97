#include "input_request.h"

#include "frame.h"
#include "image_limits.h"

#include <opencv2/imgproc.hpp>

#include <array>
#include <stdexcept>

namespace ava::frames {
namespace {

// The formats a frame can be delivered in, in the order a conversion prefers them (BGR24 is what every
// decoder produces; GRAY8 is the cheapest).
constexpr std::array delivery_order{AVA_PIXEL_FORMAT_BGR24, AVA_PIXEL_FORMAT_GRAY8, AVA_PIXEL_FORMAT_RGB24,
                                    AVA_PIXEL_FORMAT_BGRA32, AVA_PIXEL_FORMAT_RGBA32};

constexpr std::uint32_t known_formats = AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_GRAY8) |
                                        AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_BGR24) |
                                        AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_RGB24) |
                                        AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_BGRA32) |
                                        AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_RGBA32);

const char* format_name(ava_pixel_format format)
{
    switch (format) {
    case AVA_PIXEL_FORMAT_GRAY8: return "GRAY8";
    case AVA_PIXEL_FORMAT_BGR24: return "BGR24";
    case AVA_PIXEL_FORMAT_RGB24: return "RGB24";
    case AVA_PIXEL_FORMAT_BGRA32: return "BGRA32";
    case AVA_PIXEL_FORMAT_RGBA32: return "RGBA32";
    default: return "?";
    }
}

int channels_of(ava_pixel_format format)
{
    switch (format) {
    case AVA_PIXEL_FORMAT_GRAY8: return 1;
    case AVA_PIXEL_FORMAT_BGRA32:
    case AVA_PIXEL_FORMAT_RGBA32: return 4;
    default: return 3;
    }
}

// OpenCV's conversion from one delivered format to another (they differ).
int conversion(ava_pixel_format from, ava_pixel_format to)
{
    using F = ava_pixel_format;
    struct Entry {
        F from, to;
        int code;
    };
    static constexpr Entry table[] = {
        {AVA_PIXEL_FORMAT_GRAY8, AVA_PIXEL_FORMAT_BGR24, cv::COLOR_GRAY2BGR},
        {AVA_PIXEL_FORMAT_GRAY8, AVA_PIXEL_FORMAT_RGB24, cv::COLOR_GRAY2RGB},
        {AVA_PIXEL_FORMAT_GRAY8, AVA_PIXEL_FORMAT_BGRA32, cv::COLOR_GRAY2BGRA},
        {AVA_PIXEL_FORMAT_GRAY8, AVA_PIXEL_FORMAT_RGBA32, cv::COLOR_GRAY2RGBA},
        {AVA_PIXEL_FORMAT_BGR24, AVA_PIXEL_FORMAT_GRAY8, cv::COLOR_BGR2GRAY},
        {AVA_PIXEL_FORMAT_BGR24, AVA_PIXEL_FORMAT_RGB24, cv::COLOR_BGR2RGB},
        {AVA_PIXEL_FORMAT_BGR24, AVA_PIXEL_FORMAT_BGRA32, cv::COLOR_BGR2BGRA},
        {AVA_PIXEL_FORMAT_BGR24, AVA_PIXEL_FORMAT_RGBA32, cv::COLOR_BGR2RGBA},
        {AVA_PIXEL_FORMAT_RGB24, AVA_PIXEL_FORMAT_GRAY8, cv::COLOR_RGB2GRAY},
        {AVA_PIXEL_FORMAT_RGB24, AVA_PIXEL_FORMAT_BGR24, cv::COLOR_RGB2BGR},
        {AVA_PIXEL_FORMAT_RGB24, AVA_PIXEL_FORMAT_BGRA32, cv::COLOR_RGB2BGRA},
        {AVA_PIXEL_FORMAT_RGB24, AVA_PIXEL_FORMAT_RGBA32, cv::COLOR_RGB2RGBA},
        {AVA_PIXEL_FORMAT_BGRA32, AVA_PIXEL_FORMAT_GRAY8, cv::COLOR_BGRA2GRAY},
        {AVA_PIXEL_FORMAT_BGRA32, AVA_PIXEL_FORMAT_BGR24, cv::COLOR_BGRA2BGR},
        {AVA_PIXEL_FORMAT_BGRA32, AVA_PIXEL_FORMAT_RGB24, cv::COLOR_BGRA2RGB},
        {AVA_PIXEL_FORMAT_BGRA32, AVA_PIXEL_FORMAT_RGBA32, cv::COLOR_BGRA2RGBA},
        {AVA_PIXEL_FORMAT_RGBA32, AVA_PIXEL_FORMAT_GRAY8, cv::COLOR_RGBA2GRAY},
        {AVA_PIXEL_FORMAT_RGBA32, AVA_PIXEL_FORMAT_BGR24, cv::COLOR_RGBA2BGR},
        {AVA_PIXEL_FORMAT_RGBA32, AVA_PIXEL_FORMAT_RGB24, cv::COLOR_RGBA2RGB},
        {AVA_PIXEL_FORMAT_RGBA32, AVA_PIXEL_FORMAT_BGRA32, cv::COLOR_RGBA2BGRA},
    };
    for (const auto& entry : table) {
        if (entry.from == from && entry.to == to) {
            return entry.code;
        }
    }
    throw std::logic_error(std::string("no conversion from ") + format_name(from) + " to " + format_name(to));
}

std::uint32_t shrunk(std::uint32_t side, int by) noexcept
{
    return (side + static_cast<std::uint32_t>(by) - 1) / static_cast<std::uint32_t>(by);
}

} // namespace

std::string InputRequest::describe() const
{
    std::string text;
    if (pixel_formats == 0) {
        text = "any format";
    } else {
        for (const auto format : delivery_order) {
            if (accepts(format)) {
                text += (text.empty() ? "" : "|") + std::string(format_name(format));
            }
        }
    }
    if (min_width == 0 && min_height == 0) {
        return text + ", full size";
    }
    return text + (exact_size ? ", exactly " : ", min ") + std::to_string(min_width) + "x" + std::to_string(min_height);
}

InputRequest input_request_of(std::uint32_t pixel_formats, std::uint32_t min_width, std::uint32_t min_height,
                              std::uint32_t flags)
{
    InputRequest request;
    request.pixel_formats = pixel_formats & known_formats;
    if (pixel_formats != 0 && request.pixel_formats == 0) {
        throw std::invalid_argument("input_pixel_formats names no pixel format this host delivers (GRAY8, BGR24, "
                                    "RGB24, BGRA32, RGBA32)");
    }
    // An exact size is allocated for every frame, whatever was sent: it stays within a frame's limits.
    if (min_width > max_dimension || min_height > max_dimension ||
        std::uint64_t{min_width} * min_height > max_pixels) {
        throw std::invalid_argument("input_min_width/height " + std::to_string(min_width) + "x" +
                                    std::to_string(min_height) + " is over the frame limit of " +
                                    std::to_string(max_dimension) + " per side and " + std::to_string(max_pixels) +
                                    " in all");
    }
    request.min_width = min_width;
    request.min_height = min_height;
    request.exact_size = (flags & AVA_INPUT_EXACT_SIZE) != 0; // other bits: a newer minor's, ignored
    if (request.exact_size && (min_width == 0 || min_height == 0)) {
        throw std::invalid_argument("AVA_INPUT_EXACT_SIZE needs input_min_width and input_min_height");
    }
    return request;
}

int reduction_for(FrameSize sent, const InputRequest& request) noexcept
{
    if (request.min_width == 0 && request.min_height == 0) {
        return 1;
    }
    int reduction = 1;
    for (const int by : {2, 4, 8}) {
        if (shrunk(sent.width, by) >= request.min_width && shrunk(sent.height, by) >= request.min_height) {
            reduction = by;
        }
    }
    return reduction;
}

FrameSize delivered_size(FrameSize sent, const InputRequest& request) noexcept
{
    if (sent.width == 0 || sent.height == 0) {
        return sent;
    }
    if (request.exact_size) {
        return {request.min_width, request.min_height};
    }
    const int by = reduction_for(sent, request);
    return {shrunk(sent.width, by), shrunk(sent.height, by)};
}

ava_pixel_format delivered_format(ava_pixel_format natural, const InputRequest& request) noexcept
{
    if (natural == AVA_PIXEL_FORMAT_UNKNOWN || request.accepts(natural)) {
        return natural;
    }
    for (const auto format : delivery_order) {
        if (request.accepts(format)) {
            return format;
        }
    }
    return natural; // unreachable: input_request_of leaves at least one known format in a non-empty set
}

Adaptation adaptation_of(FrameSize now, ava_pixel_format format, FrameSize sent, const InputRequest& request) noexcept
{
    Adaptation a{now, format};
    if (request.declares_nothing()) {
        return a;
    }
    a.size = delivered_size(sent, request);
    a.format = delivered_format(format, request);
    a.resize = !(a.size == now);
    a.convert = a.format != format;
    if (a.resize || a.convert) {
        a.bytes = std::uint64_t{a.size.width} * a.size.height * static_cast<std::uint64_t>(channels_of(a.format));
    }
    return a;
}

void adapt(Frame& frame, const InputRequest& request)
{
    const FrameSize now{static_cast<std::uint32_t>(frame.image.cols), static_cast<std::uint32_t>(frame.image.rows)};
    // The target follows from what was sent: a JPEG may arrive here decoded at its DCT scale already.
    const FrameSize sent = frame.sent_width != 0 ? FrameSize{frame.sent_width, frame.sent_height} : now;
    const Adaptation a = adaptation_of(now, frame.format, sent, request);
    if (!a.resize && !a.convert) {
        return;
    }
    const auto size = a.size;
    const auto format = a.format;
    cv::Mat pixels = frame.image;
    const auto convert = [&] {
        if (format != frame.format) {
            cv::Mat converted;
            cv::cvtColor(pixels, converted, conversion(frame.format, format));
            pixels = std::move(converted);
        }
    };
    // Convert on the smaller image: before shrinking when the result has fewer channels, after otherwise.
    const bool convert_first = channels_of(format) < channels_of(frame.format);
    if (convert_first) {
        convert();
    }
    if (a.resize) {
        cv::Mat resized;
        const bool shrinking = size.width <= now.width && size.height <= now.height;
        cv::resize(pixels, resized, cv::Size(static_cast<int>(size.width), static_cast<int>(size.height)), 0, 0,
                   shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
        pixels = std::move(resized);
    }
    if (!convert_first) {
        convert();
    }
    frame.image = std::move(pixels);
    frame.format = format;
}

} // namespace ava::frames
