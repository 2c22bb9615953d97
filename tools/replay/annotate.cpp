#include "annotate.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>

namespace ava::replay {
namespace {

// A stable, saturated colour per label, so one kind of thing keeps its colour across frames.
cv::Scalar colour_of(const std::string& label)
{
    static constexpr std::array<std::array<uint8_t, 3>, 8> palette{
        {{60, 220, 60}, {0, 200, 255}, {255, 120, 0}, {220, 60, 220}, {0, 80, 255}, {255, 255, 0}, {120, 60, 255},
         {0, 255, 160}}};
    const auto& c = palette[std::hash<std::string>{}(label) % palette.size()];
    return {static_cast<double>(c[0]), static_cast<double>(c[1]), static_cast<double>(c[2])};
}

cv::Rect pixels(const contract::Rectangle& box, cv::Size size)
{
    return {static_cast<int>(box.l() * static_cast<float>(size.width)),
            static_cast<int>(box.t() * static_cast<float>(size.height)),
            std::max(1, static_cast<int>(box.w() * static_cast<float>(size.width))),
            std::max(1, static_cast<int>(box.h() * static_cast<float>(size.height)))};
}

// Text with a dark backing so it reads on any background.
void label(cv::Mat& image, const std::string& text, cv::Point origin, cv::Scalar colour, double scale = 0.45)
{
    int baseline = 0;
    const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
    origin.x = std::clamp(origin.x, 0, std::max(0, image.cols - size.width));
    origin.y = std::clamp(origin.y, size.height + 2, std::max(size.height + 2, image.rows - baseline));
    cv::rectangle(image, cv::Rect(origin.x, origin.y - size.height - 2, size.width + 2, size.height + baseline + 2),
                  cv::Scalar(0, 0, 0), cv::FILLED);
    cv::putText(image, text, origin + cv::Point(1, 0), cv::FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv::LINE_AA);
}

std::string with_confidence(const std::string& text, float confidence)
{
    if (confidence <= 0) {
        return text;
    }
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, " %.2f", static_cast<double>(confidence));
    return text + buffer;
}

// Keypoints sent as attribute pairs "<name>.x" / "<name>.y" (normalised), e.g. by the faces analyzer.
template <typename Attributes>
void draw_keypoints(cv::Mat& image, const Attributes& attributes, cv::Scalar colour)
{
    std::map<std::string, cv::Point2f> points;
    std::map<std::string, int> seen;
    for (const auto& a : attributes) {
        const std::string& name = a.name();
        if (name.size() > 2 && (name.ends_with(".x") || name.ends_with(".y"))) {
            try {
                const float v = std::stof(a.value());
                auto& p = points[name.substr(0, name.size() - 2)];
                (name.back() == 'x' ? p.x : p.y) = v;
                ++seen[name.substr(0, name.size() - 2)];
            } catch (const std::exception&) {
                // not a number: not a keypoint
            }
        }
    }
    for (const auto& [name, p] : points) {
        if (seen[name] == 2) {
            cv::circle(image,
                       cv::Point(static_cast<int>(p.x * static_cast<float>(image.cols)),
                                 static_cast<int>(p.y * static_cast<float>(image.rows))),
                       2, colour, cv::FILLED, cv::LINE_AA);
        }
    }
}

} // namespace

cv::Mat annotate(const cv::Mat& bgr, const contract::MediaSample& sample, uint64_t frame_index)
{
    cv::Mat image = bgr.clone();
    int text_row = 18;
    for (const auto& inference : sample.inferences()) {
        switch (inference.value_case()) {
        case contract::Inference::kEntity: {
            const auto& e = inference.entity();
            const cv::Scalar colour = colour_of(e.tag().value());
            const cv::Rect r = pixels(e.box(), image.size());
            cv::rectangle(image, r, colour, 2);
            label(image, with_confidence(e.tag().value(), e.tag().confidence()), r.tl() - cv::Point(0, 3), colour);
            draw_keypoints(image, e.attributes(), colour);
            break;
        }
        case contract::Inference::kMotion: {
            const cv::Scalar colour(0, 255, 255);
            const cv::Rect r = pixels(inference.motion().box(), image.size());
            cv::rectangle(image, r, colour, 1);
            label(image, "motion", cv::Point(r.x, r.y + r.height + 14), colour, 0.4);
            break;
        }
        case contract::Inference::kClassification: {
            const auto& c = inference.classification();
            const std::string text = (inference.subtype().empty() ? "" : inference.subtype() + ": ") + c.tag().value();
            label(image, with_confidence(text, c.tag().confidence()), cv::Point(6, text_row), colour_of(c.tag().value()));
            text_row += 18;
            break;
        }
        case contract::Inference::kText:
            label(image, "text: " + inference.text().value(), cv::Point(6, text_row), cv::Scalar(255, 255, 255));
            text_row += 18;
            break;
        case contract::Inference::kEvent:
            label(image, "event: " + inference.event().name(), cv::Point(6, text_row), cv::Scalar(0, 160, 255));
            text_row += 18;
            break;
        default:
            break;
        }
    }
    label(image, "frame " + std::to_string(frame_index), cv::Point(image.cols - 90, image.rows - 6),
          cv::Scalar(255, 255, 255), 0.4);
    return image;
}

AnnotatedOutput::AnnotatedOutput(const std::filesystem::path& out, double fps, cv::Size size, std::string image_format)
    : out_(out), image_format_(std::move(image_format))
{
    if (image_format_ != "jpg" && image_format_ != "png") {
        throw std::invalid_argument("annotated image format must be jpg or png");
    }
    const std::string extension = out.extension().string();
    video_ = extension == ".avi" || extension == ".mp4" || extension == ".mkv";
    if (video_) {
        if (out.has_parent_path()) {
            std::filesystem::create_directories(out.parent_path());
        }
        // MJPG in AVI needs no external codec: OpenCV writes it itself.
        const int fourcc = extension == ".avi" ? cv::VideoWriter::fourcc('M', 'J', 'P', 'G')
                                               : cv::VideoWriter::fourcc('m', 'p', '4', 'v');
        if (!writer_.open(out.string(), fourcc, fps > 0 ? fps : 25.0, size)) {
            throw std::runtime_error("cannot write video " + out.string() + " (try a .avi file or a folder)");
        }
    } else {
        std::filesystem::create_directories(out);
    }
}

void AnnotatedOutput::write(const cv::Mat& annotated, uint64_t frame_index)
{
    if (video_) {
        writer_.write(annotated);
    } else {
        char name[32];
        std::snprintf(name, sizeof name, "frame-%06llu.%s", static_cast<unsigned long long>(frame_index),
                      image_format_.c_str());
        if (!cv::imwrite((out_ / name).string(), annotated)) {
            throw std::runtime_error("cannot write " + (out_ / name).string());
        }
    }
    ++written_;
}

std::string AnnotatedOutput::describe() const
{
    return std::to_string(written_) + " annotated frames in " + out_.string();
}

} // namespace ava::replay
