#include "frame_format.h"

#include <span>

namespace ava::grpc_frontend {
namespace {

using Format = contract::VideoFrameSampleFormat;

std::string dimensions_text(std::uint32_t width, std::uint32_t height)
{
    return std::to_string(width) + "x" + std::to_string(height);
}

// What wrap_raw hands analyzers for each raw format: native formats as they are, the rest converted.
ava_pixel_format analyzer_format_of(frames::RawPixelFormat format)
{
    switch (format) {
    case frames::RawPixelFormat::gray8:
        return AVA_PIXEL_FORMAT_GRAY8;
    case frames::RawPixelFormat::bgr24:
        return AVA_PIXEL_FORMAT_BGR24;
    case frames::RawPixelFormat::rgb24:
        return AVA_PIXEL_FORMAT_RGB24;
    case frames::RawPixelFormat::rgba:
        return AVA_PIXEL_FORMAT_RGBA32;
    case frames::RawPixelFormat::bgra:
    case frames::RawPixelFormat::argb:
    case frames::RawPixelFormat::abgr:
        return AVA_PIXEL_FORMAT_BGRA32;
    default:
        return AVA_PIXEL_FORMAT_BGR24;
    }
}

std::span<const std::uint8_t> as_bytes(const std::string& s)
{
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

} // namespace

std::string FrameFormat::describe() const
{
    if (image) {
        std::string text(frames::name_of(*image));
        if (width != 0) {
            text += " " + dimensions_text(width, height);
        }
        return text;
    }
    return "RAW " + std::string(frames::name_of(raw.format)) + " " + dimensions_text(raw.width, raw.height) +
           " stride " + std::to_string(raw.stride != 0 ? raw.stride : frames::min_row_bytes(raw.format, raw.width));
}

frames::FrameSize FrameFormat::delivered_size() const
{
    return frames::delivered_size({width, height}, input);
}

ava_pixel_format FrameFormat::delivered_format() const
{
    return frames::delivered_format(analyzer_format, input);
}

std::optional<frames::RawPixelFormat> raw_pixel_format_of(int pixel_format)
{
    using R = frames::RawPixelFormat;
    switch (pixel_format) {
    case Format::YUV420P:
        return R::yuv420p;
    case Format::RGB565BE:
        return R::rgb565be;
    case Format::RGB565LE:
        return R::rgb565le;
    case Format::RGB555BE:
        return R::rgb555be;
    case Format::RGB555LE:
        return R::rgb555le;
    case Format::RGB24:
        return R::rgb24;
    case Format::BGR24:
        return R::bgr24;
    case Format::ARGB:
        return R::argb;
    case Format::RGBA:
        return R::rgba;
    case Format::ABGR:
        return R::abgr;
    case Format::BGRA:
        return R::bgra;
    default:
        return std::nullopt;
    }
}

FrameFormat frame_format_of(const contract::MediaDescriptor& media)
{
    if (!media.has_video_frame_sample_format()) {
        throw StreamError(grpc::StatusCode::INVALID_ARGUMENT,
                          "media_descriptor has no video_frame_sample_format: only video frames are supported");
    }
    const auto& video = media.video_frame_sample_format();
    FrameFormat format;
    format.width = video.dimensions().width();
    format.height = video.dimensions().height();
    const int encoding = video.encoding();
    switch (encoding) {
    case Format::BMP:
    case Format::JPG:
    case Format::PNG: {
        format.image = encoding == Format::JPG   ? frames::ImageEncoding::jpeg
                       : encoding == Format::PNG ? frames::ImageEncoding::png
                                                 : frames::ImageEncoding::bmp;
        // Images carry their own size; if the descriptor states one, it must be a real one.
        if ((format.width == 0) != (format.height == 0)) {
            throw StreamError(grpc::StatusCode::INVALID_ARGUMENT,
                              "video_frame_sample_format dimensions " + dimensions_text(format.width, format.height) +
                                  " must both be non-zero (or both unset for " +
                                  std::string(frames::name_of(*format.image)) + ")");
        }
        format.analyzer_format = AVA_PIXEL_FORMAT_BGR24;
        return format;
    }
    case Format::RAW:
        break;
    default:
        throw StreamError(grpc::StatusCode::INVALID_ARGUMENT,
                          "unknown video_frame_sample_format encoding " + std::to_string(encoding) +
                              ": expected BMP (0), JPG (1), PNG (2) or RAW (3)");
    }
    const auto raw = raw_pixel_format_of(video.pixel_format());
    if (!raw) {
        const auto* name = Format::PixelFormat_IsValid(video.pixel_format())
                               ? &Format::PixelFormat_Name(static_cast<Format::PixelFormat>(video.pixel_format()))
                               : nullptr;
        throw StreamError(grpc::StatusCode::INVALID_ARGUMENT,
                          "RAW frames need a pixel_format; got " +
                              (name != nullptr ? *name : "unknown value " + std::to_string(video.pixel_format())) +
                              " (expected one of YUV420P, RGB565BE, RGB565LE, RGB555BE, RGB555LE, RGB24, BGR24, "
                              "ARGB, RGBA, ABGR, BGRA)");
    }
    format.raw.format = *raw;
    format.raw.width = format.width;
    format.raw.height = format.height;
    format.raw.stride = video.stride_bytes();
    try {
        frames::validate_raw_layout(format.raw);
    } catch (const frames::FrameError& e) {
        throw StreamError(grpc::StatusCode::INVALID_ARGUMENT, std::string("video_frame_sample_format: ") + e.what());
    }
    format.analyzer_format = analyzer_format_of(*raw);
    return format;
}

frames::Frame frame_of(const contract::MediaSample& sample, const FrameFormat& format,
                       const frames::SharedMemoryMapping* mapping, runtime::MemoryBudget* budget,
                       bool* longer_reference)
{
    std::span<const std::uint8_t> bytes;
    switch (sample.content_case()) {
    case contract::MediaSample::kContentBytes:
        bytes = as_bytes(sample.content_bytes().bytes());
        break;
    case contract::MediaSample::kContentReference:
        if (mapping == nullptr) {
            throw frames::FrameError("content_reference, but the stream's descriptor set up no shared memory "
                                     "(shared_memory_buffer_transfer_properties)");
        }
        // The whole reference must lie in the mapping, even the part we do not read.
        bytes = mapping->slice(sample.content_reference().address_offset(), sample.content_reference().length_bytes());
        if (!format.image) {
            const auto stride = format.raw.stride != 0 ? format.raw.stride
                                                       : frames::min_row_bytes(format.raw.format, format.raw.width);
            const auto expected = frames::frame_bytes(format.raw.format, format.raw.width, format.raw.height, stride);
            if (bytes.size() > expected) {
                bytes = bytes.first(static_cast<std::size_t>(expected));
                if (longer_reference != nullptr) {
                    *longer_reference = true;
                }
            }
        }
        break;
    default:
        throw frames::FrameError("the sample carries no content (neither content_bytes nor content_reference)");
    }
    frames::Frame frame = format.image ? frames::decode_image(bytes, *format.image, budget, format.input)
                                       : frames::wrap_raw(bytes, format.raw, format.input);
    // The analyzer's session was opened for the described size and may rely on it.
    if (format.image && format.width != 0 && (frame.sent_width != format.width || frame.sent_height != format.height)) {
        throw frames::FrameError("the image is " + std::to_string(frame.sent_width) + "x" +
                                 std::to_string(frame.sent_height) + " but the stream's descriptor says " +
                                 std::to_string(format.width) + "x" + std::to_string(format.height));
    }
    frame.timestamp = sample.timestamp();
    if (sample.content_case() == contract::MediaSample::kContentReference) {
        frame.shared_memory = mapping; // an isolated analyzer maps the same file instead of copying (isolation/)
    }
    return frame;
}

} // namespace ava::grpc_frontend
