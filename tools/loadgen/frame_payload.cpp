#include "frame_payload.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <stdexcept>

namespace ava::loadgen {
namespace {

// Smooth gradients plus a few shapes: compresses like a real scene rather than like noise or flat grey.
cv::Mat synthetic_scene(int width, int height)
{
    cv::Mat image(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y) {
        auto* row = image.ptr<cv::Vec3b>(y);
        for (int x = 0; x < width; ++x) {
            row[x] = cv::Vec3b(static_cast<std::uint8_t>(x * 255 / width), static_cast<std::uint8_t>(y * 255 / height),
                               static_cast<std::uint8_t>((x + y) * 127 / (width + height)));
        }
    }
    cv::circle(image, {width / 3, height / 2}, std::min(width, height) / 6, cv::Scalar(30, 200, 240), cv::FILLED);
    cv::rectangle(image, cv::Rect(width / 2, height / 4, width / 4, height / 3), cv::Scalar(200, 40, 60), cv::FILLED);
    return image;
}

std::vector<std::uint8_t> encode(const cv::Mat& image, const char* extension)
{
    std::vector<std::uint8_t> out;
    if (!cv::imencode(extension, image, out)) {
        throw std::runtime_error(std::string("cannot encode the frame as ") + extension);
    }
    return out;
}

} // namespace

FramePayload make_payload(const LoadOptions& options)
{
    const int width = static_cast<int>(options.width);
    const int height = static_cast<int>(options.height);
    cv::Mat image;
    if (!options.image_file.empty()) {
        const cv::Mat picture = cv::imread(options.image_file, cv::IMREAD_COLOR);
        if (picture.empty()) {
            throw std::runtime_error("cannot read the picture '" + options.image_file + "'");
        }
        cv::resize(picture, image, {width, height});
    } else {
        image = synthetic_scene(width, height);
    }

    FramePayload payload;
    switch (options.encoding) {
    case Encoding::jpg:
        payload.bytes = encode(image, ".jpg");
        payload.content_type = "image/jpeg";
        break;
    case Encoding::bmp:
        payload.bytes = encode(image, ".bmp");
        payload.content_type = "image/bmp";
        break;
    case Encoding::raw: {
        if (options.pixel_format == PixelFormat::rgb24) {
            cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
        }
        payload.stride = options.width * 3;
        const auto* data = image.isContinuous() ? image.data : image.clone().data;
        payload.bytes.assign(data, data + image.total() * image.elemSize());
        payload.content_type = "image/x-raw; width=" + std::to_string(options.width) +
                               "; height=" + std::to_string(options.height) + "; format=" + name_of(options.pixel_format);
        break;
    }
    }
    return payload;
}

} // namespace ava::loadgen
