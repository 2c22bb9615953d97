#include "test_frames.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <stdexcept>

namespace ava::plugin_check {

std::vector<Picture> built_in_pictures()
{
    std::vector<Picture> pictures;
    cv::Mat scene(480, 640, CV_8UC3);
    for (int y = 0; y < scene.rows; ++y) {
        for (int x = 0; x < scene.cols; ++x) {
            scene.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x * 255 / 639), static_cast<uchar>(y * 255 / 479),
                                                  static_cast<uchar>(128));
        }
    }
    cv::rectangle(scene, cv::Rect(80, 60, 160, 120), cv::Scalar(255, 255, 255), cv::FILLED);
    cv::circle(scene, cv::Point(460, 300), 90, cv::Scalar(10, 20, 30), cv::FILLED);
    pictures.push_back({"scene 640x480", scene, false, false});

    cv::Mat noise(240, 320, CV_8UC3);
    cv::RNG rng(20260601); // fixed seed: the same frames on every run
    rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
    pictures.push_back({"noise 320x240 padded rows", noise, true, false});

    cv::Mat odd(17, 33, CV_8UC3);
    rng.fill(odd, cv::RNG::UNIFORM, 0, 256);
    pictures.push_back({"odd 33x17", odd, true, false});

    pictures.push_back({"flat 64x64", cv::Mat(64, 64, CV_8UC3, cv::Scalar(90, 90, 90)), false, false});
    pictures.push_back({"tiny 1x1", cv::Mat(1, 1, CV_8UC3, cv::Scalar(0, 0, 255)), false, true});
    return pictures;
}

Picture load_picture(const std::filesystem::path& file)
{
    cv::Mat bgr = cv::imread(file.string(), cv::IMREAD_COLOR);
    if (bgr.empty()) {
        throw std::runtime_error("cannot decode image " + file.string());
    }
    return {file.filename().string() + " " + std::to_string(bgr.cols) + "x" + std::to_string(bgr.rows), bgr, false,
            false};
}

const std::vector<ava_pixel_format>& all_pixel_formats()
{
    static const std::vector<ava_pixel_format> formats{AVA_PIXEL_FORMAT_BGR24, AVA_PIXEL_FORMAT_RGB24,
                                                       AVA_PIXEL_FORMAT_BGRA32, AVA_PIXEL_FORMAT_RGBA32,
                                                       AVA_PIXEL_FORMAT_GRAY8};
    return formats;
}

std::string format_name(ava_pixel_format format)
{
    switch (format) {
    case AVA_PIXEL_FORMAT_GRAY8: return "gray8";
    case AVA_PIXEL_FORMAT_BGR24: return "bgr24";
    case AVA_PIXEL_FORMAT_RGB24: return "rgb24";
    case AVA_PIXEL_FORMAT_BGRA32: return "bgra32";
    case AVA_PIXEL_FORMAT_RGBA32: return "rgba32";
    default: return "unknown(" + std::to_string(static_cast<int>(format)) + ")";
    }
}

cv::Mat in_format(const Picture& picture, ava_pixel_format format)
{
    cv::Mat converted;
    switch (format) {
    case AVA_PIXEL_FORMAT_GRAY8: cv::cvtColor(picture.bgr, converted, cv::COLOR_BGR2GRAY); break;
    case AVA_PIXEL_FORMAT_RGB24: cv::cvtColor(picture.bgr, converted, cv::COLOR_BGR2RGB); break;
    case AVA_PIXEL_FORMAT_BGRA32: cv::cvtColor(picture.bgr, converted, cv::COLOR_BGR2BGRA); break;
    case AVA_PIXEL_FORMAT_RGBA32: cv::cvtColor(picture.bgr, converted, cv::COLOR_BGR2RGBA); break;
    default: converted = picture.bgr.clone(); break;
    }
    if (!picture.padded) {
        return converted;
    }
    // 13 spare pixels per row: a plugin that assumes stride == width * bytes per pixel reads skewed rows.
    cv::Mat wider(converted.rows, converted.cols + 13, converted.type(), cv::Scalar::all(0));
    cv::Mat inside = wider(cv::Rect(0, 0, converted.cols, converted.rows));
    converted.copyTo(inside);
    return inside;
}

} // namespace ava::plugin_check
