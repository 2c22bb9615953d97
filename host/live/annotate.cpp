#include "annotate.h"

#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <jpeglib.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <variant>

namespace ava::live {
namespace {

cv::Rect pixels_of(const inferences::Box& box, const cv::Size& size)
{
    const auto x = static_cast<int>(std::lround(box.l * static_cast<float>(size.width)));
    const auto y = static_cast<int>(std::lround(box.t * static_cast<float>(size.height)));
    const auto w = static_cast<int>(std::lround(box.w * static_cast<float>(size.width)));
    const auto h = static_cast<int>(std::lround(box.h * static_cast<float>(size.height)));
    return cv::Rect(x, y, w, h) & cv::Rect(0, 0, size.width, size.height);
}

// Text on a dark band, readable on any picture.
void label(cv::Mat& image, const std::string& text, cv::Point at, const cv::Scalar& colour)
{
    constexpr double scale = 0.45;
    int baseline = 0;
    const auto size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
    at.x = std::clamp(at.x, 0, std::max(0, image.cols - size.width));
    at.y = std::clamp(at.y, size.height + 2, std::max(size.height + 2, image.rows - baseline));
    cv::rectangle(image, cv::Rect(at.x, at.y - size.height - 2, size.width + 2, size.height + baseline + 2),
                  cv::Scalar(0, 0, 0), cv::FILLED);
    cv::putText(image, text, cv::Point(at.x + 1, at.y), cv::FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv::LINE_AA);
}

std::string with_confidence(const std::string& text, const std::optional<float>& confidence)
{
    if (!confidence) {
        return text;
    }
    char number[16];
    std::snprintf(number, sizeof number, " %.2f", static_cast<double>(*confidence));
    return text + number;
}

struct JpegError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_jpeg_error(j_common_ptr info)
{
    char message[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, message);
    throw JpegError(message);
}

} // namespace

cv::Mat to_bgr(const frames::Frame& frame)
{
    cv::Mat bgr;
    switch (frame.format) {
    case AVA_PIXEL_FORMAT_BGR24:
        frame.image.copyTo(bgr);
        break;
    case AVA_PIXEL_FORMAT_RGB24:
        cv::cvtColor(frame.image, bgr, cv::COLOR_RGB2BGR);
        break;
    case AVA_PIXEL_FORMAT_BGRA32:
        cv::cvtColor(frame.image, bgr, cv::COLOR_BGRA2BGR);
        break;
    case AVA_PIXEL_FORMAT_RGBA32:
        cv::cvtColor(frame.image, bgr, cv::COLOR_RGBA2BGR);
        break;
    case AVA_PIXEL_FORMAT_GRAY8:
        cv::cvtColor(frame.image, bgr, cv::COLOR_GRAY2BGR);
        break;
    default:
        bgr = cv::Mat(std::max(frame.image.rows, 1), std::max(frame.image.cols, 1), CV_8UC3, cv::Scalar(64, 64, 64));
        break;
    }
    return bgr;
}

void annotate(cv::Mat& bgr, const inferences::InferenceList& inferences)
{
    const int thickness = std::max(2, bgr.cols / 320);
    int text_line = 0;
    const auto next_text_line = [&] { return cv::Point(4, 16 + 18 * text_line++); };
    for (const auto& inference : inferences) {
        std::visit(
            [&](const auto& value) {
                using T = std::decay_t<decltype(value)>;
                if constexpr (std::is_same_v<T, inferences::Entity>) {
                    const auto rect = pixels_of(value.box, bgr.size());
                    cv::rectangle(bgr, rect, entity_colour, thickness);
                    label(bgr, with_confidence(value.tag, value.confidence), cv::Point(rect.x, rect.y - 2), entity_colour);
                } else if constexpr (std::is_same_v<T, inferences::Motion>) {
                    cv::rectangle(bgr, pixels_of(value.box, bgr.size()), motion_colour, thickness);
                } else if constexpr (std::is_same_v<T, inferences::Classification>) {
                    label(bgr, with_confidence((inference.subtype.empty() ? "" : inference.subtype + ": ") + value.value,
                                               value.confidence),
                          next_text_line(), cv::Scalar(255, 255, 255));
                } else if constexpr (std::is_same_v<T, inferences::Text>) {
                    label(bgr, value.value.substr(0, 80), next_text_line(), cv::Scalar(255, 255, 0));
                } else if constexpr (std::is_same_v<T, inferences::Event>) {
                    label(bgr, "event: " + value.name.substr(0, 60), next_text_line(), cv::Scalar(0, 255, 255));
                }
            },
            inference.value);
    }
}

std::string encode_jpeg(const cv::Mat& bgr, int quality)
{
    jpeg_compress_struct info{};
    jpeg_error_mgr errors{};
    info.err = jpeg_std_error(&errors);
    errors.error_exit = throw_jpeg_error;
    unsigned char* out = nullptr;
    unsigned long out_size = 0;
    // libjpeg allocates the output with malloc; freed here whatever happens.
    const auto free_out = [&] { std::free(out); };
    std::string jpeg;
    try {
        jpeg_create_compress(&info);
        jpeg_mem_dest(&info, &out, &out_size);
        info.image_width = static_cast<JDIMENSION>(bgr.cols);
        info.image_height = static_cast<JDIMENSION>(bgr.rows);
        info.input_components = 3;
        info.in_color_space = JCS_EXT_BGR; // libjpeg-turbo reads OpenCV's byte order directly
        jpeg_set_defaults(&info);
        jpeg_set_quality(&info, quality, TRUE);
        jpeg_start_compress(&info, TRUE);
        while (info.next_scanline < info.image_height) {
            JSAMPROW row = const_cast<JSAMPROW>(bgr.ptr<unsigned char>(static_cast<int>(info.next_scanline)));
            jpeg_write_scanlines(&info, &row, 1);
        }
        jpeg_finish_compress(&info);
        jpeg.assign(reinterpret_cast<const char*>(out), out_size);
    } catch (...) {
        jpeg_destroy_compress(&info);
        free_out();
        throw;
    }
    jpeg_destroy_compress(&info);
    free_out();
    return jpeg;
}

} // namespace ava::live
