// people — pedestrian detector: OpenCV's built-in HOG + linear SVM people detector (64x128 window), with
// non-maximum suppression.
//
// Parameters (instance configuration or per stream / per request):
//   scale          1.01..2, default 1.05: image pyramid step; larger is faster but misses more sizes.
//   win_stride     8, 16, 24 or 32, default 8: detection window step in pixels (a multiple of the 8-pixel
//                  HOG block stride); larger is faster but coarser.
//   hit_threshold  -2..5, default 0.3: lowest SVM margin kept; raise it to drop false hits (cars, poles).
//   nms_threshold  0..1, default 0.3: IoU above which overlapping boxes are merged into the best one.
//   max_width      0 or 64..8192, default 800: frames wider than this are shrunk to it first (0: never).
//                  A person must be about 128 pixels tall in the shrunk frame to be found (the window).
// Emits one entity per person: tag "person", subtype "personDetection", confidence = logistic(margin), so
// 0.5 is the SVM's decision boundary; the box is tightened to the body (HOG windows include a margin).
#include <ava_common/frame.hpp>
#include <ava_common/geometry.hpp>
#include <ava_common/meta.hpp>
#include <ava_common/params.hpp>
#include <ava_common/pool.hpp>

#include <opencv2/objdetect.hpp>

#include <cmath>

namespace {

using ava::plugin::Error;

struct Settings {
    double scale = 1.05;
    int win_stride = 8;
    double hit_threshold = 0.3;
    float nms_threshold = 0.3F;
    int max_width = 800;
};

Settings settings_of(const ava::plugin::Parameters& params)
{
    params.reject_unknown({"scale", "win_stride", "hit_threshold", "nms_threshold", "max_width"});
    Settings s;
    s.scale = params.number("scale", s.scale, 1.01, 2.0);
    s.win_stride = params.integer("win_stride", s.win_stride, 8, 32);
    if (s.win_stride % 8 != 0) {
        throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameter 'win_stride' must be 8, 16, 24 or 32 (a multiple of "
                                                 "the HOG block stride)");
    }
    s.hit_threshold = params.number("hit_threshold", s.hit_threshold, -2.0, 5.0);
    s.nms_threshold = static_cast<float>(params.number("nms_threshold", s.nms_threshold, 0.0, 1.0));
    s.max_width = params.integer("max_width", s.max_width, 0, 8192);
    if (s.max_width != 0 && s.max_width < 64) {
        throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameter 'max_width' must be 0 (no limit) or at least 64");
    }
    return s;
}

std::unique_ptr<cv::HOGDescriptor> make_detector()
{
    auto hog = std::make_unique<cv::HOGDescriptor>(); // default: 64x128 window, 8x8 block stride
    hog->setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
    return hog;
}

// HOG detectMultiScale is not documented as safe to call concurrently on one descriptor: lease one per call.
using Detectors = ava::common::Pool<cv::HOGDescriptor>;

class Session {
public:
    Session(std::shared_ptr<Detectors> detectors, Settings settings)
        : detectors_(std::move(detectors)), settings_(settings)
    {
    }

    void process(const ava_frame& frame, ava::plugin::Results& out) const
    {
        const cv::Size full(static_cast<int>(frame.width), static_cast<int>(frame.height));
        // Gray: HOG on colour takes the strongest channel gradient, three times the work for little gain.
        const cv::Mat gray = ava::common::convert(frame, ava::common::Layout::gray,
                                                  ava::common::fit_width(full, settings_.max_width));
        std::vector<cv::Rect> found;
        std::vector<double> weights;
        if (gray.cols >= 64 && gray.rows >= 128) { // smaller than one window: nobody can be found
            auto hog = detectors_->acquire();
            // groupThreshold 0: no OpenCV grouping (it drops weights' meaning); our NMS below does it.
            hog->detectMultiScale(gray, found, weights, settings_.hit_threshold,
                                  cv::Size(settings_.win_stride, settings_.win_stride), cv::Size(), settings_.scale,
                                  0.0, false);
        }
        std::vector<cv::Rect2f> boxes;
        std::vector<float> scores;
        for (std::size_t i = 0; i < found.size() && i < weights.size(); ++i) {
            const cv::Rect& r = found[i];
            // The trained window has ~1/8 margin each side and 1/16 above the head (as OpenCV's peopledetect
            // sample tightens it): report the body, not the window.
            boxes.emplace_back(static_cast<float>(r.x) + 0.1F * static_cast<float>(r.width),
                               static_cast<float>(r.y) + 0.07F * static_cast<float>(r.height),
                               0.8F * static_cast<float>(r.width), 0.8F * static_cast<float>(r.height));
            scores.push_back(static_cast<float>(1.0 / (1.0 + std::exp(-weights[i]))));
        }
        const auto meta = ava::plugin::Results::with_subtype("personDetection");
        for (const int i : ava::common::nms(boxes, scores, 0.0F, settings_.nms_threshold)) {
            if (const auto box = ava::common::normalise(boxes[i], gray.size())) {
                out.entity("person", scores[i], *box, nullptr, &meta);
            }
        }
    }

private:
    std::shared_ptr<Detectors> detectors_;
    Settings settings_;
};

class Instance {
public:
    explicit Instance(std::string_view config_json) : detectors_(std::make_shared<Detectors>(make_detector))
    {
        config_.merge(config_json);
        settings_of(config_); // validate now: a bad configuration fails at create
    }

    std::unique_ptr<Session> open_stream(const ava_stream_info& info) const
    {
        return std::make_unique<Session>(detectors_, settings_of(ava::common::layered(config_, info)));
    }

private:
    ava::plugin::Parameters config_;
    std::shared_ptr<Detectors> detectors_;
};

// ABI 1.1: what the configuration and each stream may set (the stream's values layer over the
// configuration's, so both take the same names); the host checks them before calling this plugin.
constexpr const char* parameters_schema = R"json({"type": "object", "additionalProperties": false, "properties":
{"scale": {"type": "number", "minimum": 1.01, "maximum": 2, "description": "pyramid scale step"},
 "win_stride": {"enum": [8, 16, 24, 32], "description": "window step in pixels"},
 "hit_threshold": {"type": "number", "minimum": -2, "maximum": 5},
 "nms_threshold": {"type": "number", "minimum": 0, "maximum": 1},
 "max_width": {"type": "integer", "minimum": 0, "maximum": 8192, "description": "downscale wider frames; 0 or at least 64"}}})json";

constexpr ava_plugin_descriptor descriptor = ava::plugin::make_descriptor<Instance, Session>(
    "people", "1.0.0", "Pedestrian detection (OpenCV HOG people detector); entities tagged 'person'",
    AVA_CONCURRENCY_FULL, parameters_schema, parameters_schema);

} // namespace

extern "C" {
AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
}
