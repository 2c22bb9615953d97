// color_intensity — the HTTP extension module sample's analyzer: grayscale, then "dark" or "light".
//
// Parameters (instance configuration or per stream / per request):
//   threshold  number 0..255, default 127: mean gray level below which a frame is "dark".
// Emits one classification, subtype "colorIntensity"; confidence is the share of pixels on the winning
// side of the threshold (a black frame is "dark" with confidence 1).
#include <ava_common/frame.hpp>
#include <ava_plugin_params.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace {

double threshold_of(const ava::plugin::Parameters& params)
{
    params.reject_unknown({"threshold"});
    return params.number("threshold", 127.0, 0.0, 255.0);
}

class Session {
public:
    explicit Session(double threshold) : threshold_(threshold) {}

    void process(const ava_frame& frame, ava::plugin::Results& out) const
    {
        const cv::Mat gray = ava::common::convert(frame, ava::common::Layout::gray);
        const double mean = cv::mean(gray)[0];
        const bool dark = mean < threshold_;
        // Share of pixels on the winning side: how clearly the frame is what we say it is.
        const double below = static_cast<double>(gray.total() - static_cast<size_t>(cv::countNonZero(gray >= threshold_)));
        const double share = (dark ? below : static_cast<double>(gray.total()) - below) / static_cast<double>(gray.total());
        const auto meta = ava::plugin::Results::with_subtype("colorIntensity");
        out.classification(dark ? "dark" : "light", static_cast<float>(share), &meta);
    }

private:
    double threshold_;
};

class Instance {
public:
    explicit Instance(std::string_view config_json)
    {
        config_.merge(config_json);
        threshold_of(config_); // validate now: a bad configuration fails at create
    }

    std::unique_ptr<Session> open_stream(const ava_stream_info& info) const
    {
        ava::plugin::Parameters params = config_;
        params.merge(info.parameters_json);
        return std::make_unique<Session>(threshold_of(params));
    }

private:
    ava::plugin::Parameters config_;
};

// ABI 1.1: what the configuration and each stream may set (the stream's values layer over the
// configuration's, so both take the same names); the host checks them before calling this plugin.
constexpr const char* parameters_schema = R"json({"type": "object", "additionalProperties": false, "properties":
{"threshold": {"type": "number", "minimum": 0, "maximum": 255,
                   "description": "mean gray level from which a frame is light (default 127)"}}})json";

constexpr ava_plugin_descriptor descriptor = ava::plugin::make_descriptor<Instance, Session>(
    "color_intensity", "1.0.0", "Grayscale colour intensity: classifies a frame as dark or light",
    AVA_CONCURRENCY_FULL, parameters_schema, parameters_schema,
    // ABI 1.2: a mean and a share of gray levels need no colour and few pixels; the host decodes a JPEG
    // straight to gray at up to 1/8 scale (answers checked against full decode: reduced_decode_test).
    ava::plugin::Input{.pixel_formats = AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_GRAY8), .min_width = 64, .min_height = 64});

} // namespace

extern "C" {
AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
}
