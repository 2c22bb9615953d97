#include "plugin_harness.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <cstring>
#include <filesystem>

namespace ava::test {
namespace {

std::string text(const char* s) { return s != nullptr ? s : ""; }

void copy_meta(const ava_inference_meta* meta, Inference& inference)
{
    if (meta == nullptr) {
        return;
    }
    inference.subtype = text(meta->subtype);
    for (uint32_t i = 0; i < meta->attribute_count; ++i) {
        inference.attributes[text(meta->attributes[i].name)] = text(meta->attributes[i].value);
    }
}

std::vector<Inference>& out_of(void* context) { return *static_cast<std::vector<Inference>*>(context); }

ava_status on_classification(void* c, const ava_inference_meta* meta, const char* value, float confidence)
{
    Inference i{"classification", "", text(value), confidence, {}, {}};
    copy_meta(meta, i);
    out_of(c).push_back(i);
    return AVA_STATUS_OK;
}
ava_status on_entity(void* c, const ava_inference_meta* meta, const char* tag, float confidence, ava_box box,
                     const char*)
{
    Inference i{"entity", "", text(tag), confidence, box, {}};
    copy_meta(meta, i);
    out_of(c).push_back(i);
    return AVA_STATUS_OK;
}
ava_status on_motion(void* c, const ava_inference_meta* meta, ava_box box)
{
    Inference i{"motion", "", "", -1.0F, box, {}};
    copy_meta(meta, i);
    out_of(c).push_back(i);
    return AVA_STATUS_OK;
}
ava_status on_event(void* c, const ava_inference_meta* meta, const char* name, const ava_key_value*, uint32_t)
{
    Inference i{"event", "", text(name), -1.0F, {}, {}};
    copy_meta(meta, i);
    out_of(c).push_back(i);
    return AVA_STATUS_OK;
}
ava_status on_text(void* c, const ava_inference_meta* meta, const char* value, const char*, uint64_t, uint64_t)
{
    Inference i{"text", "", text(value), -1.0F, {}, {}};
    copy_meta(meta, i);
    out_of(c).push_back(i);
    return AVA_STATUS_OK;
}
ava_status on_other(void* c, const ava_inference_meta* meta, const char* content_type, const void*, size_t)
{
    Inference i{"other", "", text(content_type), -1.0F, {}, {}};
    copy_meta(meta, i);
    out_of(c).push_back(i);
    return AVA_STATUS_OK;
}

} // namespace

Frame::Frame(const cv::Mat& bgr, ava_pixel_format format, int padding_bytes)
{
    cv::Mat converted;
    switch (format) {
    case AVA_PIXEL_FORMAT_GRAY8: cv::cvtColor(bgr, converted, cv::COLOR_BGR2GRAY); break;
    case AVA_PIXEL_FORMAT_BGR24: converted = bgr; break;
    case AVA_PIXEL_FORMAT_RGB24: cv::cvtColor(bgr, converted, cv::COLOR_BGR2RGB); break;
    case AVA_PIXEL_FORMAT_BGRA32: cv::cvtColor(bgr, converted, cv::COLOR_BGR2BGRA); break;
    case AVA_PIXEL_FORMAT_RGBA32: cv::cvtColor(bgr, converted, cv::COLOR_BGR2RGBA); break;
    default: throw std::invalid_argument("test Frame: unknown pixel format");
    }
    const std::size_t row = converted.cols * converted.elemSize();
    const std::size_t stride = row + static_cast<std::size_t>(padding_bytes);
    // Padding bytes are 0xAB: an analyzer reading past a row end would see garbage, not plausible pixels.
    bytes_.assign(stride * static_cast<std::size_t>(converted.rows), 0xAB);
    for (int y = 0; y < converted.rows; ++y) {
        std::memcpy(bytes_.data() + stride * static_cast<std::size_t>(y), converted.ptr(y), row);
    }
    frame_ = ava_frame{sizeof(ava_frame), bytes_.data(), static_cast<uint32_t>(converted.cols),
                       static_cast<uint32_t>(converted.rows), static_cast<uint32_t>(stride), format, 0};
}

Plugin::Plugin(const std::string& name)
{
    // A bare name is a built plugin; a path (with a '/') any other build of one, e.g. a baseline to compare.
    const std::string path =
        name.find('/') != std::string::npos ? name : std::string(AVA_TEST_PLUGIN_DIR) + "/lib" + name + ".so";
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) {
        throw std::runtime_error("dlopen " + path + ": " + text(dlerror()));
    }
    auto* entry = reinterpret_cast<ava_plugin_entry_fn>(dlsym(handle_, AVA_PLUGIN_ENTRY_NAME));
    if (entry == nullptr || (descriptor_ = entry()) == nullptr) {
        dlclose(handle_);
        throw std::runtime_error(path + ": no " AVA_PLUGIN_ENTRY_NAME);
    }
}

Plugin::~Plugin() { dlclose(handle_); }

Status try_create(const Plugin& plugin, const std::string& config_json)
{
    ava_error error{};
    void* instance = nullptr;
    Status status{plugin.descriptor().create(config_json.c_str(), &instance, &error), error.message};
    if (status.ok()) {
        plugin.descriptor().destroy(instance);
    }
    return status;
}

Instance::Instance(const Plugin& plugin, const std::string& config_json) : d_(plugin.descriptor())
{
    ava_error error{};
    if (const ava_status s = d_.create(config_json.c_str(), &instance_, &error); s != AVA_STATUS_OK) {
        throw std::runtime_error("create failed (" + std::to_string(s) + "): " + error.message);
    }
}

Instance::~Instance() { d_.destroy(instance_); }

// The harness passes what an ABI 1.0 host does: parameters as JSON only, no typed getters (the bundled
// plugins read the JSON; the getters are tested through the host, in tests/params).
constexpr std::uint32_t stream_info_size = offsetof(ava_stream_info, parameters);

std::unique_ptr<Session> Instance::open(const std::string& parameters_json, uint32_t width, uint32_t height)
{
    const ava_stream_info info{stream_info_size, "test-pipeline", "test-node", "/test", width, height,
                               AVA_PIXEL_FORMAT_UNKNOWN, 90000, parameters_json.c_str(), nullptr};
    ava_error error{};
    void* session = nullptr;
    if (const ava_status s = d_.open_stream(instance_, &info, &session, &error); s != AVA_STATUS_OK) {
        throw std::runtime_error("open_stream failed (" + std::to_string(s) + "): " + error.message);
    }
    return std::make_unique<Session>(d_, session);
}

Status Instance::try_open(const std::string& parameters_json)
{
    const ava_stream_info info{stream_info_size, "", "", "/test", 0, 0, AVA_PIXEL_FORMAT_UNKNOWN, 0,
                               parameters_json.c_str(), nullptr};
    ava_error error{};
    void* session = nullptr;
    Status status{d_.open_stream(instance_, &info, &session, &error), error.message};
    if (status.ok()) {
        d_.close_stream(session);
    }
    return status;
}

Status Session::try_process(const ava_frame& frame, std::vector<Inference>& out)
{
    const ava_result_sink sink{sizeof(ava_result_sink), &out, on_classification, on_entity, on_motion,
                               on_event, on_text, on_other};
    ava_error error{};
    return Status{d_.process(session_, &frame, &sink, &error), error.message};
}

std::vector<Inference> Session::process(const ava_frame& frame)
{
    std::vector<Inference> out;
    if (const Status s = try_process(frame, out); !s.ok()) {
        throw std::runtime_error("process failed (" + std::to_string(s.code) + "): " + s.message);
    }
    return out;
}

std::string media(const std::string& name)
{
    const std::string path = std::string(AVA_TEST_MEDIA_DIR) + "/" + name;
    if (!std::filesystem::exists(path)) {
        throw std::runtime_error("test media " + path + " missing: install Debian's opencv-doc (scripts/setup.sh)");
    }
    return path;
}

std::vector<cv::Mat> read_frames(const std::string& video, const std::vector<int>& indices)
{
    cv::VideoCapture capture(media(video));
    if (!capture.isOpened()) {
        throw std::runtime_error("cannot open " + video);
    }
    std::vector<cv::Mat> frames;
    const int last = indices.empty() ? -1 : *std::max_element(indices.begin(), indices.end());
    cv::Mat frame;
    // Decode sequentially rather than seek: seeking in these AVI files is not frame-exact.
    for (int i = 0; i <= last && capture.read(frame); ++i) {
        if (std::find(indices.begin(), indices.end(), i) != indices.end()) {
            frames.push_back(frame.clone());
        }
    }
    if (frames.size() != indices.size()) {
        throw std::runtime_error(video + ": could not read all requested frames");
    }
    return frames;
}

const std::vector<cv::Mat>& vtest_walking()
{
    // Sequential decoding is the slow part: once per binary.
    static const std::vector<cv::Mat> frames = [] {
        std::vector<int> indices(51);
        std::iota(indices.begin(), indices.end(), 0);
        return read_frames("vtest.avi", indices);
    }();
    return frames;
}

} // namespace ava::test
