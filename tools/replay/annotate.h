// Draws one frame's inferences onto it (boxes with labels, keypoints, classifications as text) and writes
// the result into a video file or a folder of images.
#ifndef AVA_REPLAY_ANNOTATE_H
#define AVA_REPLAY_ANNOTATE_H

#include "media_stream_client.h"

#include <opencv2/videoio.hpp>

#include <filesystem>
#include <string>

namespace ava::replay {

// The frame with the inferences drawn on it.
cv::Mat annotate(const cv::Mat& bgr, const contract::MediaSample& sample, uint64_t frame_index);

// Where annotated frames go: OUT ending in .avi/.mp4/.mkv is a video (MJPG in AVI, mp4v otherwise);
// anything else is a folder that receives frame-000000.jpg, frame-000001.jpg, ... (or .png)
class AnnotatedOutput {
public:
    AnnotatedOutput(const std::filesystem::path& out, double fps, cv::Size size, std::string image_format = "jpg");
    void write(const cv::Mat& annotated, uint64_t frame_index);
    std::string describe() const;

private:
    std::filesystem::path out_;
    std::string image_format_;
    bool video_ = false;
    cv::VideoWriter writer_;
    uint64_t written_ = 0;
};

} // namespace ava::replay

#endif
