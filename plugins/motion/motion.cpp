// motion — per-stream motion detection: background subtraction (MOG2 or KNN), morphology, and a minimum
// area filter; one `motion` inference per moving region, nothing at all when the scene is still.
//
// Parameters (instance configuration or per stream):
//   method         "mog2" (default) or "knn".
//   history        2..10000, default 300: frames the background model remembers (how fast it adapts).
//   threshold      1..10000, default 16 for mog2 (squared Mahalanobis distance, varThreshold) and 400 for
//                  knn (squared distance, dist2Threshold): how different a pixel must be to be foreground.
//   detect_shadows true/false, default true: shadow pixels are recognised and NOT reported as motion.
//   min_area       0..1, default 0.0005: smallest moving region, as a share of the frame's area
//                  (0.0005 of 768x576 is about 220 pixels).
//   warmup_frames  0..10000, default 10: frames learnt before anything is reported, so a stream's first
//                  frames (when everything is "new") are not reported as whole-frame motion.
//   max_width      0 or 32..8192, default 320: frames wider are shrunk to this first (speed, less noise).
// State (the background model) lives in the stream's session: two pipelines never share one, and the host
// calls one session one frame at a time (AVA_CONCURRENCY_PER_SESSION). Over HTTP each request is its own
// session, so this analyzer is meant for live (gRPC) streams. A change of frame size restarts learning.
#include <ava_common/frame.hpp>
#include <ava_common/geometry.hpp>
#include <ava_common/params.hpp>

#include <opencv2/imgproc.hpp>
#include <opencv2/video/background_segm.hpp>

#include <algorithm>

namespace {

using ava::plugin::Error;

struct Settings {
    std::string method = "mog2";
    int history = 300;
    double threshold = 16.0;
    bool detect_shadows = true;
    double min_area = 0.0005;
    int warmup_frames = 10;
    int max_width = 320;
};

Settings settings_of(const ava::plugin::Parameters& params)
{
    params.reject_unknown(
        {"method", "history", "threshold", "detect_shadows", "min_area", "warmup_frames", "max_width"});
    Settings s;
    s.method = params.choice("method", "mog2", {"mog2", "knn"});
    s.history = params.integer("history", s.history, 2, 10000);
    s.threshold = params.number("threshold", s.method == "mog2" ? 16.0 : 400.0, 1.0, 10000.0);
    s.detect_shadows = params.boolean("detect_shadows", s.detect_shadows);
    s.min_area = params.number("min_area", s.min_area, 0.0, 1.0);
    s.warmup_frames = params.integer("warmup_frames", s.warmup_frames, 0, 10000);
    s.max_width = params.integer("max_width", s.max_width, 0, 8192);
    if (s.max_width != 0 && s.max_width < 32) {
        throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameter 'max_width' must be 0 (no limit) or at least 32");
    }
    return s;
}

class Session {
public:
    explicit Session(Settings settings) : settings_(std::move(settings)) {}

    void process(const ava_frame& frame, ava::plugin::Results& out)
    {
        const cv::Size full(static_cast<int>(frame.width), static_cast<int>(frame.height));
        const cv::Mat image = ava::common::convert(frame, ava::common::Layout::bgr,
                                                   ava::common::fit_width(full, settings_.max_width));
        if (!subtractor_ || image.size() != size_) {
            reset(image.size());
        }
        cv::Mat mask;
        subtractor_->apply(image, mask);
        if (++frames_ <= settings_.warmup_frames) {
            return; // still learning what the background is
        }
        // 255 = foreground, 127 = shadow (when detected): keep only real foreground.
        cv::threshold(mask, mask, 200, 255, cv::THRESH_BINARY);
        // Opening drops speckle noise; closing then joins a person's fragments (legs, torso) into one region.
        cv::morphologyEx(mask, mask, cv::MORPH_OPEN, open_kernel_);
        cv::morphologyEx(mask, mask, cv::MORPH_CLOSE, close_kernel_);

        cv::Mat labels, stats, centroids;
        const int count = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
        const double min_pixels = settings_.min_area * static_cast<double>(mask.total());
        for (int i = 1; i < count; ++i) { // label 0 is the background
            if (stats.at<int>(i, cv::CC_STAT_AREA) < std::max(1.0, min_pixels)) {
                continue;
            }
            const cv::Rect2f r(static_cast<float>(stats.at<int>(i, cv::CC_STAT_LEFT)),
                               static_cast<float>(stats.at<int>(i, cv::CC_STAT_TOP)),
                               static_cast<float>(stats.at<int>(i, cv::CC_STAT_WIDTH)),
                               static_cast<float>(stats.at<int>(i, cv::CC_STAT_HEIGHT)));
            if (const auto box = ava::common::normalise(r, mask.size())) {
                out.motion(*box);
            }
        }
    }

private:
    void reset(cv::Size size)
    {
        size_ = size;
        frames_ = 0;
        if (settings_.method == "mog2") {
            subtractor_ = cv::createBackgroundSubtractorMOG2(settings_.history, settings_.threshold,
                                                             settings_.detect_shadows);
        } else {
            subtractor_ = cv::createBackgroundSubtractorKNN(settings_.history, settings_.threshold,
                                                            settings_.detect_shadows);
        }
        // Kernels scale with the analysed width so behaviour does not depend on max_width much.
        const int unit = std::max(1, size.width / 320);
        open_kernel_ = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * unit + 1, 2 * unit + 1));
        close_kernel_ = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(6 * unit + 1, 6 * unit + 1));
    }

    Settings settings_;
    cv::Ptr<cv::BackgroundSubtractor> subtractor_;
    cv::Size size_;
    int frames_ = 0;
    cv::Mat open_kernel_;
    cv::Mat close_kernel_;
};

class Instance {
public:
    explicit Instance(std::string_view config_json)
    {
        config_.merge(config_json);
        settings_of(config_); // validate now: a bad configuration fails at create
    }

    std::unique_ptr<Session> open_stream(const ava_stream_info& info) const
    {
        return std::make_unique<Session>(settings_of(ava::common::layered(config_, info)));
    }

private:
    ava::plugin::Parameters config_;
};

// ABI 1.1: what the configuration and each stream may set (the stream's values layer over the
// configuration's, so both take the same names); the host checks them before calling this plugin.
constexpr const char* parameters_schema = R"json({"type": "object", "additionalProperties": false, "properties":
{"method": {"enum": ["mog2", "knn"], "description": "background subtractor (default mog2)"},
 "history": {"type": "integer", "minimum": 2, "maximum": 10000, "description": "frames the background learns from"},
 "threshold": {"type": "number", "minimum": 1, "maximum": 10000, "description": "pixel distance that is motion"},
 "detect_shadows": {"type": "boolean"},
 "min_area": {"type": "number", "minimum": 0, "maximum": 1, "description": "smallest box, as a fraction of the frame"},
 "warmup_frames": {"type": "integer", "minimum": 0, "maximum": 10000, "description": "frames reported as still first"},
 "max_width": {"type": "integer", "minimum": 0, "maximum": 8192, "description": "downscale wider frames; 0 or at least 32"}}})json";

constexpr ava_plugin_descriptor descriptor = ava::plugin::make_descriptor<Instance, Session>(
    "motion", "1.0.0", "Motion detection per stream (MOG2/KNN background subtraction); motion boxes",
    AVA_CONCURRENCY_PER_SESSION, parameters_schema, parameters_schema);
// No ABI 1.2 input declaration, on purpose: measured, a background model fed DCT-scaled frames (even at
// twice its 320-wide working size) draws its boxes differently, IoU down to 0.1 against a full decode on
// vtest.avi (reduced_decode_test), so motion takes full frames.

} // namespace

extern "C" {
AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
}
