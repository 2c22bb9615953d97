// Test-side driver of an analyzer plugin: dlopens the real built .so and calls it through the C ABI, with a
// result sink that copies every inference. No host code involved, so a plugin can be tested on its own.
#ifndef AVA_TESTS_ANALYZERS_PLUGIN_HARNESS_H
#define AVA_TESTS_ANALYZERS_PLUGIN_HARNESS_H

#include <ava_plugin.h>

#include <opencv2/core.hpp>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ava::test {

// One inference as the plugin emitted it.
struct Inference {
    std::string kind; // classification, entity, motion, event, text, other
    std::string subtype;
    std::string value; // classification value, entity tag, event name
    float confidence = -1.0F;
    ava_box box{};
    std::map<std::string, std::string> attributes;
    cv::Rect2f rect() const { return {box.l, box.t, box.w, box.h}; }
};

// Outcome of one ABI call that can fail.
struct Status {
    ava_status code = AVA_STATUS_OK;
    std::string message;
    bool ok() const { return code == AVA_STATUS_OK; }
};

// A frame in a given pixel format with a padded stride, owning its bytes; converted from a BGR image.
class Frame {
public:
    Frame(const cv::Mat& bgr, ava_pixel_format format, int padding_bytes = 0);
    const ava_frame& get() const { return frame_; }

private:
    std::vector<uint8_t> bytes_;
    ava_frame frame_{};
};

class Plugin {
public:
    // lib<name>.so from AVA_TEST_PLUGIN_DIR, or the .so at `name` when it contains a '/'.
    explicit Plugin(const std::string& name);
    ~Plugin();
    Plugin(const Plugin&) = delete;
    Plugin& operator=(const Plugin&) = delete;
    const ava_plugin_descriptor& descriptor() const { return *descriptor_; }

private:
    void* handle_ = nullptr;
    const ava_plugin_descriptor* descriptor_ = nullptr;
};

class Instance;

// An open stream; process() returns what the plugin emitted for one frame.
class Session {
public:
    Session(const ava_plugin_descriptor& d, void* session) : d_(d), session_(session) {}
    ~Session() { d_.close_stream(session_); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    std::vector<Inference> process(const ava_frame& frame); // throws on a non-OK status
    Status try_process(const ava_frame& frame, std::vector<Inference>& out);
    std::vector<Inference> process(const cv::Mat& bgr) { return process(Frame(bgr, AVA_PIXEL_FORMAT_BGR24).get()); }

private:
    const ava_plugin_descriptor& d_;
    void* session_;
};

class Instance {
public:
    // Throws std::runtime_error with the plugin's message when create fails.
    Instance(const Plugin& plugin, const std::string& config_json = "{}");
    ~Instance();
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;
    std::unique_ptr<Session> open(const std::string& parameters_json = "{}", uint32_t width = 0, uint32_t height = 0);
    Status try_open(const std::string& parameters_json);

private:
    const ava_plugin_descriptor& d_;
    void* instance_ = nullptr;
};

// create() outcome without throwing (for testing bad configurations).
Status try_create(const Plugin& plugin, const std::string& config_json);

// Intersection over union of two boxes.
inline float iou(const cv::Rect2f& a, const cv::Rect2f& b)
{
    const float inter = (a & b).area();
    const float uni = a.area() + b.area() - inter;
    return uni > 0 ? inter / uni : 0.0F;
}

// A box hand-marked in pixels (x0, y0, x1, y1) of an image of size w x h, as a normalised rect.
inline cv::Rect2f unit_box(float x0, float y0, float x1, float y1, float w, float h)
{
    return {x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h};
}

inline cv::Point2f centre(const cv::Rect2f& r) { return {r.x + r.width / 2, r.y + r.height / 2}; }

// Every box lies inside the unit square (with float rounding slack).
inline bool inside_unit(const ava_box& b)
{
    constexpr float eps = 1e-5F;
    return b.l >= 0 && b.t >= 0 && b.w > 0 && b.h > 0 && b.l + b.w <= 1 + eps && b.t + b.h <= 1 + eps;
}

// Only the inferences of one kind / subtype.
inline std::vector<Inference> only(const std::vector<Inference>& all, const std::string& kind,
                                   const std::string& subtype = "")
{
    std::vector<Inference> out;
    for (const auto& i : all) {
        if (i.kind == kind && (subtype.empty() || i.subtype == subtype)) {
            out.push_back(i);
        }
    }
    return out;
}

// Test media (Debian opencv-doc), path under AVA_TEST_MEDIA_DIR; frames by index from a video.
std::string media(const std::string& name);
std::vector<cv::Mat> read_frames(const std::string& video, const std::vector<int>& indices);
// Frames 0..50 of vtest.avi (people walking across the courtyard), decoded once per test binary run.
const std::vector<cv::Mat>& vtest_walking();

} // namespace ava::test

#endif
