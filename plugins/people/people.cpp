// people — pedestrian detector: one of OpenCV's built-in HOG + linear SVM people detectors, with
// non-maximum suppression.
//
// Parameters (instance configuration or per stream / per request):
//   model          "daimler" (default) or "inria": OpenCV's Daimler detector (48x96 window, finds people
//                  from ~70 pixels tall) or its original INRIA one (64x128 window, people from ~100 pixels).
//                  On hand-marked vtest.avi frames Daimler at the defaults below finds more people (recall
//                  0.71 against 0.67) as precisely (0.92 against 0.91) as INRIA at its old defaults
//                  (scale 1.05, max_width 800) did, in 1/6 of the time: its smaller window lets the frame
//                  be analysed at 640 wide and the pyramid be coarser. analyzer_bench --accuracy measures it.
//   scale          1.01..2, default 1.25: image pyramid step; larger is faster but misses more sizes.
//   win_stride     8, 16, 24 or 32, default 8: detection window step in pixels (a multiple of the 8-pixel
//                  HOG block stride); larger is faster but coarser (16 halves the recall on vtest).
//   hit_threshold  -2..5, default 1.0 (daimler) or 0.3 (inria): lowest SVM margin kept; raise it to drop
//                  false hits (cars, poles). The two models' margins are on different scales.
//   nms_threshold  0..1, default 0.3: IoU above which overlapping boxes are merged into the best one.
//   max_width      0 or 64..8192, default 640: frames wider than this are shrunk to it first (0: never).
//                  A person must be about 70 (daimler) or 100 (inria) pixels tall in the shrunk frame.
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

enum class Model { daimler, inria };

struct Settings {
    Model model = Model::daimler;
    double scale = 1.25;
    int win_stride = 8;
    double hit_threshold = 1.0;
    float nms_threshold = 0.3F;
    int max_width = 640;
};

Settings settings_of(const ava::plugin::Parameters& params)
{
    params.reject_unknown({"model", "scale", "win_stride", "hit_threshold", "nms_threshold", "max_width"});
    Settings s;
    if (params.choice("model", "daimler", {"daimler", "inria"}) == "inria") {
        s.model = Model::inria;
        s.hit_threshold = 0.3; // its SVM's margins are smaller: 0.3 was this analyzer's tuned default
    }
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

std::unique_ptr<cv::HOGDescriptor> make_detector(Model model)
{
    if (model == Model::inria) {
        auto hog = std::make_unique<cv::HOGDescriptor>(); // default: 64x128 window, 8x8 block stride
        hog->setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
        return hog;
    }
    // The geometry the Daimler SVM was trained with (OpenCV's getDaimlerPeopleDetector documentation).
    auto hog = std::make_unique<cv::HOGDescriptor>(cv::Size(48, 96), cv::Size(16, 16), cv::Size(8, 8),
                                                   cv::Size(8, 8), 9);
    hog->setSVMDetector(cv::HOGDescriptor::getDaimlerPeopleDetector());
    return hog;
}

// Where the body lies in a model's window, as shares of it: the INRIA window has ~1/8 margin each side and
// 1/16 above the head (as OpenCV's peopledetect sample tightens it); the Daimler window is tighter above
// and looser at the sides. Measured on the hand-marked vtest frames (best IoU with the marked bodies).
struct Body {
    float x, y, w, h;
};
constexpr Body body_of(Model model) noexcept
{
    return model == Model::inria ? Body{0.1F, 0.07F, 0.8F, 0.8F} : Body{0.15F, 0.1F, 0.7F, 0.8F};
}

// HOG detectMultiScale is not documented as safe to call concurrently on one descriptor: lease one per call.
using Detectors = ava::common::Pool<cv::HOGDescriptor>;

// One pool per model; a descriptor is cheap to make (its SVM is a static table), so both exist from create.
struct Models {
    Detectors daimler{[] { return make_detector(Model::daimler); }};
    Detectors inria{[] { return make_detector(Model::inria); }};
    Detectors& of(Model model) noexcept { return model == Model::inria ? inria : daimler; }
};

class Session {
public:
    Session(std::shared_ptr<Models> models, Settings settings) : models_(std::move(models)), settings_(settings)
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
        auto hog = models_->of(settings_.model).acquire();
        if (gray.cols >= hog->winSize.width && gray.rows >= hog->winSize.height) { // else nobody fits
            // groupThreshold 0: no OpenCV grouping (it drops weights' meaning); our NMS below does it.
            hog->detectMultiScale(gray, found, weights, settings_.hit_threshold,
                                  cv::Size(settings_.win_stride, settings_.win_stride), cv::Size(), settings_.scale,
                                  0.0, false);
        }
        std::vector<cv::Rect2f> boxes;
        std::vector<float> scores;
        const Body body = body_of(settings_.model);
        for (std::size_t i = 0; i < found.size() && i < weights.size(); ++i) {
            const cv::Rect2f r(found[i]); // report the body, not the window
            boxes.emplace_back(r.x + body.x * r.width, r.y + body.y * r.height, body.w * r.width, body.h * r.height);
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
    std::shared_ptr<Models> models_;
    Settings settings_;
};

class Instance {
public:
    explicit Instance(std::string_view config_json) : models_(std::make_shared<Models>())
    {
        config_.merge(config_json);
        settings_of(config_); // validate now: a bad configuration fails at create
    }

    std::unique_ptr<Session> open_stream(const ava_stream_info& info) const
    {
        return std::make_unique<Session>(models_, settings_of(ava::common::layered(config_, info)));
    }

private:
    ava::plugin::Parameters config_;
    std::shared_ptr<Models> models_;
};

// ABI 1.1: what the configuration and each stream may set (the stream's values layer over the
// configuration's, so both take the same names); the host checks them before calling this plugin.
constexpr const char* parameters_schema = R"json({"type": "object", "additionalProperties": false, "properties":
{"model": {"enum": ["daimler", "inria"], "description": "HOG detector: daimler (48x96, default) or inria (64x128)"},
 "scale": {"type": "number", "minimum": 1.01, "maximum": 2, "description": "pyramid scale step"},
 "win_stride": {"enum": [8, 16, 24, 32], "description": "window step in pixels"},
 "hit_threshold": {"type": "number", "minimum": -2, "maximum": 5, "description": "lowest SVM margin; default 1.0 (daimler), 0.3 (inria)"},
 "nms_threshold": {"type": "number", "minimum": 0, "maximum": 1},
 "max_width": {"type": "integer", "minimum": 0, "maximum": 8192, "description": "downscale wider frames; 0 or at least 64"}}})json";

constexpr ava_plugin_descriptor descriptor = ava::plugin::make_descriptor<Instance, Session>(
    "people", "1.0.0", "Pedestrian detection (OpenCV HOG people detector); entities tagged 'person'",
    AVA_CONCURRENCY_FULL, parameters_schema, parameters_schema);
// No ABI 1.2 input declaration, on purpose: measured with reduced_decode_test, GRAY8 or a 640x360 minimum
// keeps every person found in vtest.avi, but HOG's borderline hits elsewhere (Megamind.avi) come and go
// (IoU 0, confidence moved by up to 0.17), and a JPEG decode is under a tenth of this analyzer's cost.

} // namespace

extern "C" {
AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
}
