// Frames to replay: a video file (anything OpenCV's videoio reads), one image, or a folder of images
// (.jpg/.jpeg/.png/.bmp, in name order).
#ifndef AVA_REPLAY_FRAME_SOURCE_H
#define AVA_REPLAY_FRAME_SOURCE_H

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ava::replay {

class FrameSource {
public:
    // fps_for_images: the rate of an image folder or single image (a video has its own).
    FrameSource(const std::filesystem::path& path, double fps_for_images);
    std::optional<cv::Mat> next(); // BGR; empty at the end
    double fps() const { return fps_; }
    cv::Size size() const { return size_; }
    std::string describe() const { return description_; }

private:
    cv::Mat read_image(std::size_t index) const;

    cv::VideoCapture capture_;
    std::vector<std::filesystem::path> images_;
    std::size_t next_image_ = 0;
    std::optional<cv::Mat> first_; // read ahead to learn the size
    double fps_ = 0;
    cv::Size size_;
    std::string description_;
};

} // namespace ava::replay

#endif
