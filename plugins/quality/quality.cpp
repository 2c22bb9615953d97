// quality — camera health: sharpness (variance of the Laplacian), exposure (mean level and clipped
// pixels) and a BRISQUE no-reference quality score, as classifications an operator can alert on.
//
// Parameters (instance configuration or per stream / per request):
//   blur_threshold  0..100000, default 100: Laplacian variance below which a frame is "blurred".
//   dark_mean       0..255, default 40: mean level below which a frame is "underexposed".
//   bright_mean     0..255, default 215: mean level above which a frame is "overexposed".
//   clip_fraction   0..1, default 0.4: share of crushed (<= 16) or blown (>= 240) pixels that alone makes a
//                   frame under- or overexposed.
//   brisque         true/false, default false: also compute the BRISQUE score. Off by default for speed:
//                   it costs ~35 ms on a 640x480 analysis frame, six times the rest of this analyzer.
//                   (On a smaller copy it is faster but hardly sees blur the camera produced.)
//   brisque_threshold 0..150, default 40: BRISQUE score above which the quality is "poor" (lower is better;
//                   sharp real footage scores about 15-30 at 640 wide, a 5x5 Gaussian blur about 45).
//   max_width       0 or 64..8192, default 640: frames wider are shrunk to this before anything is measured
//                   (0: never), which also makes blur_threshold mean about the same for any camera resolution.
// Emits classifications (confidence: none unless stated):
//   subtype "sharpness": "sharp" | "blurred"; confidence = logistic(2 * |log2(variance / blur_threshold)|),
//                        0.5 at the threshold; attribute laplacianVariance.
//   subtype "exposure":  "normal" | "underexposed" | "overexposed"; attributes meanLevel, darkShare, brightShare.
//   subtype "quality":   "good" | "poor" (only with brisque, and frames of at least 32x32); attribute brisque.
#include <ava_common/frame.hpp>
#include <ava_common/meta.hpp>
#include <ava_common/params.hpp>
#include <ava_common/pool.hpp>

#include <opencv2/imgproc.hpp>
#include <opencv2/quality/qualitybrisque.hpp>

#include <array>
#include <cmath>
#include <filesystem>

namespace {

// How sure a threshold decision is, from how far the measure lies from the threshold, in octaves: on it
// 0.5, twice or half of it ~0.88, four times ~0.98.
float certainty(double measure, double threshold)
{
    const double octaves = std::abs(std::log2(std::max(measure, 1e-6) / std::max(threshold, 1e-6)));
    return static_cast<float>(1.0 / (1.0 + std::exp(-2.0 * octaves)));
}

using ava::plugin::Error;

// BRISQUE's features need a few pyramid levels of 7x7 windows; below this it has nothing to measure.
constexpr int brisque_min_side = 32;
constexpr int dark_level = 16;
constexpr int bright_level = 240;

struct Settings {
    double blur_threshold = 100.0;
    double dark_mean = 40.0;
    double bright_mean = 215.0;
    double clip_fraction = 0.4;
    bool brisque = false;
    double brisque_threshold = 40.0;
    int max_width = 640;
};

Settings settings_of(const ava::plugin::Parameters& params)
{
    params.reject_unknown({"blur_threshold", "dark_mean", "bright_mean", "clip_fraction", "brisque",
                           "brisque_threshold", "max_width"});
    Settings s;
    s.blur_threshold = params.number("blur_threshold", s.blur_threshold, 0.0, 100000.0);
    s.dark_mean = params.number("dark_mean", s.dark_mean, 0.0, 255.0);
    s.bright_mean = params.number("bright_mean", s.bright_mean, 0.0, 255.0);
    if (s.dark_mean >= s.bright_mean) {
        throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameter 'dark_mean' must be below 'bright_mean'");
    }
    s.clip_fraction = params.number("clip_fraction", s.clip_fraction, 0.0, 1.0);
    s.brisque = params.boolean("brisque", s.brisque);
    s.brisque_threshold = params.number("brisque_threshold", s.brisque_threshold, 0.0, 150.0);
    s.max_width = params.integer("max_width", s.max_width, 0, 8192);
    if (s.max_width != 0 && s.max_width < 64) {
        throw Error(AVA_STATUS_INVALID_ARGUMENT, "parameter 'max_width' must be 0 (no limit) or at least 64");
    }
    return s;
}

// QualityBRISQUE::compute is not const (it keeps state): one per concurrent call. Its constructor is
// protected, so the pool holds the cv::Ptr that create() returns.
struct Brisque {
    cv::Ptr<cv::quality::QualityBRISQUE> model;
};
using Brisques = ava::common::Pool<Brisque>;

std::shared_ptr<Brisques> load_brisque()
{
    const std::filesystem::path dir(AVA_BRISQUE_MODEL_DIR);
    const auto model = (dir / "brisque_model_live.yml").string();
    const auto range = (dir / "brisque_range_live.yml").string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(model, ec) || !std::filesystem::is_regular_file(range, ec)) {
        throw Error(AVA_STATUS_INTERNAL, "BRISQUE model files not found (" + model + ", " + range +
                                             "): install opencv-data, or set parameter 'brisque' to false");
    }
    return std::make_shared<Brisques>([model, range] {
        return std::make_unique<Brisque>(Brisque{cv::quality::QualityBRISQUE::create(model, range)});
    });
}

// Frame-sized buffers reused from call to call (fresh ones cost page faults each frame), one per concurrent
// call; shared by all of an instance's sessions.
struct Scratch {
    ava::common::Buffers frame;
    cv::Mat laplacian;
};
using Scratches = ava::common::Pool<Scratch>;

class Session {
public:
    Session(std::shared_ptr<Scratches> scratches, std::shared_ptr<Brisques> brisques, Settings settings)
        : scratches_(std::move(scratches)), brisques_(std::move(brisques)), settings_(settings)
    {
    }

    void process(const ava_frame& frame, ava::plugin::Results& out) const
    {
        const cv::Size full(static_cast<int>(frame.width), static_cast<int>(frame.height));
        auto scratch = scratches_->acquire();
        const cv::Mat gray = ava::common::convert(frame, ava::common::Layout::gray,
                                                  ava::common::fit_width(full, settings_.max_width), scratch->frame);
        sharpness(gray, scratch->laplacian, out);
        exposure(gray, out);
        if (settings_.brisque && std::min(gray.cols, gray.rows) >= brisque_min_side) {
            quality(gray, out);
        }
    }

private:
    void sharpness(const cv::Mat& gray, cv::Mat& laplacian, ava::plugin::Results& out) const
    {
        // 16-bit is exact for an 8-bit frame's 3x3 Laplacian (|value| <= 1020) and cheaper
        cv::Laplacian(gray, laplacian, CV_16S);
        cv::Scalar mean, stddev;
        cv::meanStdDev(laplacian, mean, stddev);
        const double variance = stddev[0] * stddev[0];
        const bool blurred = variance < settings_.blur_threshold;
        const auto confidence = certainty(variance, settings_.blur_threshold);
        ava::common::Meta meta("sharpness");
        meta.attribute("laplacianVariance", variance);
        out.classification(blurred ? "blurred" : "sharp", confidence, meta.get());
    }

    void exposure(const cv::Mat& gray, ava::plugin::Results& out) const
    {
        // One pass: the level histogram gives the mean and both clipped shares (no frame-sized masks).
        cv::Mat histogram;
        const int channel = 0;
        const int bins = 256;
        const std::array<float, 2> range{0.0F, 256.0F};
        const float* ranges = range.data();
        cv::calcHist(&gray, 1, &channel, cv::Mat(), histogram, 1, &bins, &ranges);
        double sum = 0.0;
        double dark_count = 0.0;
        double bright_count = 0.0;
        for (int level = 0; level < bins; ++level) {
            const auto n = static_cast<double>(histogram.at<float>(level));
            sum += n * level;
            dark_count += level <= dark_level ? n : 0.0;
            bright_count += level >= bright_level ? n : 0.0;
        }
        const auto total = static_cast<double>(gray.total());
        const double mean = sum / total;
        const double dark = dark_count / total;
        const double bright = bright_count / total;
        const char* value = "normal";
        float confidence = 0;
        if (mean < settings_.dark_mean || dark > settings_.clip_fraction) {
            value = "underexposed"; // as sure as the clearest of the reasons
            confidence = std::max(mean < settings_.dark_mean ? certainty(mean, settings_.dark_mean) : 0.0F,
                                  dark > settings_.clip_fraction ? certainty(dark, settings_.clip_fraction) : 0.0F);
        } else if (mean > settings_.bright_mean || bright > settings_.clip_fraction) {
            value = "overexposed";
            confidence = std::max(mean > settings_.bright_mean ? certainty(mean, settings_.bright_mean) : 0.0F,
                                  bright > settings_.clip_fraction ? certainty(bright, settings_.clip_fraction) : 0.0F);
        } else { // as sure as the closest call
            confidence = std::min({certainty(mean, settings_.dark_mean), certainty(mean, settings_.bright_mean),
                                   certainty(dark, settings_.clip_fraction), certainty(bright, settings_.clip_fraction)});
        }
        ava::common::Meta meta("exposure");
        meta.attribute("meanLevel", mean).attribute("darkShare", dark).attribute("brightShare", bright);
        out.classification(value, confidence, meta.get());
    }

    void quality(const cv::Mat& gray, ava::plugin::Results& out) const
    {
        double score = 0.0;
        {
            auto brisque = brisques_->acquire();
            score = brisque->model->compute(gray)[0];
        }
        ava::common::Meta meta("quality");
        meta.attribute("brisque", score);
        out.classification(score > settings_.brisque_threshold ? "poor" : "good",
                           certainty(score, settings_.brisque_threshold), meta.get());
    }

    std::shared_ptr<Scratches> scratches_;
    std::shared_ptr<Brisques> brisques_;
    Settings settings_;
};

class Instance {
public:
    explicit Instance(std::string_view config_json)
    {
        config_.merge(config_json);
        if (settings_of(config_).brisque) {
            brisques(); // load now: missing model files are an error at create
        }
    }

    std::unique_ptr<Session> open_stream(const ava_stream_info& info)
    {
        const Settings settings = settings_of(ava::common::layered(config_, info));
        return std::make_unique<Session>(scratches_, settings.brisque ? brisques() : nullptr, settings);
    }

private:
    std::shared_ptr<Brisques> brisques()
    {
        const std::lock_guard lock(mutex_);
        if (!brisques_) {
            brisques_ = load_brisque();
        }
        return brisques_;
    }

    ava::plugin::Parameters config_;
    std::shared_ptr<Scratches> scratches_ = std::make_shared<Scratches>([] { return std::make_unique<Scratch>(); });
    std::mutex mutex_;
    std::shared_ptr<Brisques> brisques_;
};

// ABI 1.1: what the configuration and each stream may set (the stream's values layer over the
// configuration's, so both take the same names); the host checks them before calling this plugin.
constexpr const char* parameters_schema = R"json({"type": "object", "additionalProperties": false, "properties":
{"blur_threshold": {"type": "number", "minimum": 0, "maximum": 100000},
 "dark_mean": {"type": "number", "minimum": 0, "maximum": 255, "description": "below 'bright_mean'"},
 "bright_mean": {"type": "number", "minimum": 0, "maximum": 255},
 "clip_fraction": {"type": "number", "minimum": 0, "maximum": 1},
 "brisque": {"type": "boolean"},
 "brisque_threshold": {"type": "number", "minimum": 0, "maximum": 150},
 "max_width": {"type": "integer", "minimum": 0, "maximum": 8192, "description": "downscale wider frames; 0 or at least 64"}}})json";

constexpr ava_plugin_descriptor descriptor = ava::plugin::make_descriptor<Instance, Session>(
    "quality", "1.0.0", "Camera health: sharpness, exposure and BRISQUE quality classifications",
    AVA_CONCURRENCY_FULL, parameters_schema, parameters_schema,
    // ABI 1.2: everything is measured on gray levels at most 640 wide (the default max_width, so thresholds
    // mean the same at any resolution); the host may decode down to that, straight to gray.
    ava::plugin::Input{.pixel_formats = AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_GRAY8), .min_width = 640, .min_height = 360});

} // namespace

extern "C" {
AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
}
