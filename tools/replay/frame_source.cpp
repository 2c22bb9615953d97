#include "frame_source.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <stdexcept>

namespace ava::replay {
namespace {

bool is_image(const std::filesystem::path& p)
{
    std::string e = p.extension().string();
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return e == ".jpg" || e == ".jpeg" || e == ".png" || e == ".bmp";
}

} // namespace

FrameSource::FrameSource(const std::filesystem::path& path, double fps_for_images)
{
    if (std::filesystem::is_directory(path)) {
        for (const auto& entry : std::filesystem::directory_iterator(path)) {
            if (entry.is_regular_file() && is_image(entry.path())) {
                images_.push_back(entry.path());
            }
        }
        std::sort(images_.begin(), images_.end());
        if (images_.empty()) {
            throw std::runtime_error(path.string() + ": no .jpg/.png/.bmp images in this folder");
        }
        fps_ = fps_for_images;
        description_ = path.string() + " (" + std::to_string(images_.size()) + " images)";
    } else if (is_image(path)) {
        images_.push_back(path);
        fps_ = fps_for_images;
        description_ = path.string();
    } else {
        if (!std::filesystem::exists(path)) {
            throw std::runtime_error(path.string() + ": no such file or folder");
        }
        if (!capture_.open(path.string())) {
            throw std::runtime_error(path.string() + ": OpenCV cannot read this video");
        }
        fps_ = capture_.get(cv::CAP_PROP_FPS);
        if (!(fps_ > 0 && fps_ < 1000)) {
            fps_ = 25.0; // containers without a rate
        }
        description_ = path.string() + " (" + std::to_string(static_cast<long long>(capture_.get(cv::CAP_PROP_FRAME_COUNT))) +
                       " frames at " + std::to_string(fps_).substr(0, 5) + " fps)";
    }
    first_ = next();
    if (!first_) {
        throw std::runtime_error(path.string() + ": no frames");
    }
    size_ = first_->size();
}

cv::Mat FrameSource::read_image(std::size_t index) const
{
    cv::Mat image = cv::imread(images_[index].string(), cv::IMREAD_COLOR);
    if (image.empty()) {
        throw std::runtime_error(images_[index].string() + ": cannot decode");
    }
    // A stream has one frame size: later images are fitted to the first one's.
    if (!size_.empty() && image.size() != size_) {
        cv::resize(image, image, size_);
    }
    return image;
}

std::optional<cv::Mat> FrameSource::next()
{
    if (first_) {
        auto frame = std::move(first_);
        first_.reset();
        return frame;
    }
    if (!images_.empty()) {
        if (next_image_ >= images_.size()) {
            return std::nullopt;
        }
        return read_image(next_image_++);
    }
    cv::Mat frame;
    if (!capture_.read(frame) || frame.empty()) {
        return std::nullopt;
    }
    if (frame.type() == CV_8UC1) {
        cv::cvtColor(frame, frame, cv::COLOR_GRAY2BGR);
    }
    return frame;
}

} // namespace ava::replay
