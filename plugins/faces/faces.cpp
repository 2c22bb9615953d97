// faces — face detector: MediaPipe BlazeFace (ONNX, run by cv::dnn), or OpenCV's Haar cascade.
//
// Parameters (instance configuration, or per stream / per request unless noted):
//   model          "blazeface" (default) or "haar".
//   threshold      0..1, default 0.6: lowest BlazeFace score reported (blazeface only).
//   nms_threshold  0..1, default 0.3: IoU above which overlapping BlazeFace boxes are merged (blazeface only).
//   min_neighbors  1..50, default 5: Haar detections that must overlap to count as a face (haar only).
//   model_path     file of the configured model (configuration only: a caller must not pick server files).
//                  Default for blazeface, file face_detection_back_256x256_barracuda.onnx (scripts/fetch-models.sh
//                  fetches it) in the first folder that has it: $AVA_MODELS_DIR, the installed models folder
//                  (<prefix>/share/ava-extension-host/models, from the install prefix), and in a build tree
//                  the build's ava-build-models link (found from the running executable, see below);
//                  for haar: opencv-data's haarcascade_frontalface_default.xml.
// A stream choosing the other model than the configuration gets that model from its default file.
//
// Emits one entity per face: tag "face", subtype "faceDetection", normalised box. BlazeFace gives its score
// as the confidence and six keypoints as attributes "<point>.x" / "<point>.y" (normalised to the frame) for
// rightEye, leftEye, noseTip, mouth, rightEar, leftEar (the subject's right/left). Haar gives no confidence.
#include <ava_common/frame.hpp>
#include <ava_common/geometry.hpp>
#include <ava_common/meta.hpp>
#include <ava_common/params.hpp>
#include <ava_common/pool.hpp>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <tuple>

namespace {

using ava::common::Layout;
using ava::plugin::Error;

constexpr const char* blazeface_file = "face_detection_back_256x256_barracuda.onnx";
constexpr int input_side = 256;
constexpr int keypoint_count = 6;
constexpr std::array<const char*, keypoint_count> keypoint_names{"rightEye", "leftEye", "noseTip",
                                                                 "mouth",    "rightEar", "leftEar"};
// Haar runs on at most this width: faces smaller than its 24-pixel window at this scale are not worth the time.
constexpr int haar_max_width = 640;

struct Face {
    cv::Rect2f box; // normalised to the frame, may spill over the edges
    float score = -1.0F;
    int neighbors = 0;
    std::array<cv::Point2f, keypoint_count> keypoints{};
    bool has_keypoints = false;
};

struct Settings {
    std::string model;
    float threshold = 0.6F;
    float nms_threshold = 0.3F;
    int min_neighbors = 5;
};

Settings settings_of(const ava::plugin::Parameters& params)
{
    params.reject_unknown({"model", "threshold", "nms_threshold", "min_neighbors", "model_path"});
    Settings s;
    s.model = params.choice("model", "blazeface", {"blazeface", "haar"});
    if (s.model == "blazeface") {
        s.threshold = static_cast<float>(params.number("threshold", 0.6, 0.0, 1.0));
        s.nms_threshold = static_cast<float>(params.number("nms_threshold", 0.3, 0.0, 1.0));
    } else {
        s.min_neighbors = params.integer("min_neighbors", 5, 1, 50);
    }
    return s;
}

bool present(const ava::plugin::Parameters& params, const char* name)
{
    // Parameters has no "has"; a fallback no JSON value can equal tells presence apart.
    try {
        return params.string(name, "\x01") != "\x01";
    } catch (const Error&) {
        return true; // present, of another type
    }
}

// A parameter of the other model is a mistake the caller should hear about, not a silent no-op.
void reject_other_model(const ava::plugin::Parameters& params, const Settings& s)
{
    const auto check = [&](const char* name, const char* model) {
        if (present(params, name)) {
            throw Error(AVA_STATUS_INVALID_ARGUMENT, std::string("parameter '") + name + "' applies only to model '" +
                                                         model + "', not '" + s.model + "'");
        }
    };
    if (s.model == "blazeface") {
        check("min_neighbors", "haar");
    } else {
        check("threshold", "blazeface");
        check("nms_threshold", "blazeface");
    }
}

class Model {
public:
    Model() = default;
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;
    virtual ~Model() = default;
    // Thread-safe: each call leases its own detector.
    virtual std::vector<Face> detect(const ava_frame& frame, const Settings& settings) const = 0;
};

// MediaPipe BlazeFace, "back" 256x256 model: NHWC input in [-1, 1]; per SSD anchor a score logit and
// 16 regressors (box centre offset and size, then six keypoint offsets), all in input pixels.
class BlazeFace final : public Model {
public:
    explicit BlazeFace(const std::string& path) : bytes_(read(path)), path_(path), nets_([this] { return load(); })
    {
        // SSD anchors of the two output grids: 16x16 with 2 anchors per cell, 8x8 with 6 per cell.
        for (const auto& [grid, per_cell] : {std::pair{16, 2}, std::pair{8, 6}}) {
            for (int cell = 0; cell < grid * grid; ++cell) {
                for (int a = 0; a < per_cell; ++a) {
                    anchors_.emplace_back((static_cast<float>(cell % grid) + 0.5F) / static_cast<float>(grid),
                                          (static_cast<float>(cell / grid) + 0.5F) / static_cast<float>(grid));
                }
            }
        }
    }

    std::vector<Face> detect(const ava_frame& frame, const Settings& settings) const override
    {
        // Shrink first (cheaper), pad bottom/right to a square, then resize to the input side.
        const double scale = std::min(1.0, static_cast<double>(input_side) / std::max(frame.width, frame.height));
        const cv::Mat rgb = ava::common::convert(frame, Layout::rgb, scale);
        const int side = std::max(rgb.cols, rgb.rows);
        cv::Mat square;
        cv::copyMakeBorder(rgb, square, 0, side - rgb.rows, 0, side - rgb.cols, cv::BORDER_CONSTANT, cv::Scalar());
        if (side != input_side) {
            cv::resize(square, square, cv::Size(input_side, input_side), 0, 0, cv::INTER_LINEAR);
        }
        cv::Mat input;
        square.convertTo(input, CV_32FC3, 1.0 / 127.5, -1.0);
        const std::array<int, 4> nhwc{1, input_side, input_side, 3};
        const cv::Mat blob(4, nhwc.data(), CV_32F, input.data); // input is continuous: NHWC as is

        std::vector<cv::Mat> outputs;
        {
            auto net = nets_.acquire();
            net->net.setInput(blob);
            net->net.forward(outputs, net->outputs);
        }
        const Outputs out = classify(outputs);

        // Square-normalised -> frame-normalised (the padding only extends right and down).
        const float sx = static_cast<float>(side) / static_cast<float>(rgb.cols);
        const float sy = static_cast<float>(side) / static_cast<float>(rgb.rows);
        std::vector<Face> candidates;
        std::vector<cv::Rect2f> boxes;
        std::vector<float> scores;
        for (std::size_t i = 0; i < anchors_.size(); ++i) {
            const float raw = out.score(i);
            // sigmoid(raw) >= threshold, tested on the logit to skip the exp for the ~900 background anchors.
            if (settings.threshold > 0.0F &&
                (settings.threshold >= 1.0F || raw < std::log(settings.threshold / (1.0F - settings.threshold)))) {
                continue;
            }
            const float* r = out.regressor(i);
            const cv::Point2f anchor = anchors_[i];
            const float cx = anchor.x + r[0] / input_side;
            const float cy = anchor.y + r[1] / input_side;
            const float w = r[2] / input_side;
            const float h = r[3] / input_side;
            Face face;
            face.score = 1.0F / (1.0F + std::exp(-raw));
            face.box = cv::Rect2f((cx - w / 2) * sx, (cy - h / 2) * sy, w * sx, h * sy);
            for (int k = 0; k < keypoint_count; ++k) {
                face.keypoints[k] = cv::Point2f((anchor.x + r[4 + 2 * k] / input_side) * sx,
                                                (anchor.y + r[5 + 2 * k] / input_side) * sy);
            }
            face.has_keypoints = true;
            boxes.push_back(face.box);
            scores.push_back(face.score);
            candidates.push_back(face);
        }

        // MediaPipe's "weighted" suppression: a face is the score-weighted mean of the boxes it suppressed,
        // which is steadier from frame to frame than keeping the single best anchor.
        std::vector<Face> faces;
        for (const auto& cluster : ava::common::nms_clusters(boxes, scores, settings.threshold, settings.nms_threshold)) {
            Face blended = candidates[cluster.front()];
            float total = 0.0F;
            cv::Point2f tl, br;
            std::array<cv::Point2f, keypoint_count> keypoints{};
            for (const int m : cluster) {
                const Face& f = candidates[m];
                total += f.score;
                tl += f.score * f.box.tl();
                br += f.score * f.box.br();
                for (int k = 0; k < keypoint_count; ++k) {
                    keypoints[k] += f.score * f.keypoints[k];
                }
            }
            blended.box = cv::Rect2f(tl / total, br / total);
            for (int k = 0; k < keypoint_count; ++k) {
                blended.keypoints[k] = keypoints[k] / total;
            }
            faces.push_back(blended);
        }
        return faces;
    }

private:
    struct Net {
        cv::dnn::Net net;
        std::vector<std::string> outputs;
    };

    // The four outputs told apart by shape, not name, so a re-export with other layer names still works.
    struct Outputs {
        const cv::Mat* scores[2]{};
        const cv::Mat* regressors[2]{};
        float score(std::size_t i) const
        {
            return i < 512 ? scores[0]->ptr<float>()[i] : scores[1]->ptr<float>()[i - 512];
        }
        const float* regressor(std::size_t i) const
        {
            return i < 512 ? regressors[0]->ptr<float>() + 16 * i : regressors[1]->ptr<float>() + 16 * (i - 512);
        }
    };

    Outputs classify(const std::vector<cv::Mat>& outputs) const
    {
        Outputs out;
        for (const auto& m : outputs) {
            const auto count = m.total();
            const int last = m.size[m.dims - 1];
            const int grid = (count == 512 || count == 512 * 16) ? 0 : (count == 384 || count == 384 * 16) ? 1 : -1;
            if (m.type() != CV_32F || grid < 0 || (last != 1 && last != 16)) {
                throw Error(AVA_STATUS_INVALID_ARGUMENT,
                            "'" + path_ + "' is not the BlazeFace back 256x256 model (unexpected output shape)");
            }
            (last == 1 ? out.scores : out.regressors)[grid] = &m;
        }
        if (!out.scores[0] || !out.scores[1] || !out.regressors[0] || !out.regressors[1]) {
            throw Error(AVA_STATUS_INVALID_ARGUMENT,
                        "'" + path_ + "' is not the BlazeFace back 256x256 model (expected 4 outputs)");
        }
        return out;
    }

    static std::vector<char> read(const std::string& path)
    {
        std::ifstream in(path, std::ios::binary);
        std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) {
            throw Error(AVA_STATUS_INVALID_ARGUMENT, "cannot read BlazeFace model '" + path + "'");
        }
        return bytes;
    }

    std::unique_ptr<Net> load() const
    {
        auto net = std::make_unique<Net>();
        try {
            net->net = cv::dnn::readNetFromONNX(bytes_.data(), bytes_.size());
        } catch (const cv::Exception& e) {
            throw Error(AVA_STATUS_INVALID_ARGUMENT, "cannot load BlazeFace model '" + path_ + "': " + e.err);
        }
        net->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        net->outputs = net->net.getUnconnectedOutLayersNames();
        return net;
    }

    std::vector<char> bytes_; // the ONNX file, read once; each pooled net is parsed from it
    std::string path_;
    std::vector<cv::Point2f> anchors_;
    mutable ava::common::Pool<Net> nets_;

public:
    // Runs one blank frame, so a wrong model fails at create/open rather than on the first frame.
    void check() const
    {
        const std::vector<uint8_t> pixels(16 * 16, 0);
        const ava_frame frame{sizeof(ava_frame), pixels.data(), 16, 16, 16, AVA_PIXEL_FORMAT_GRAY8, 0};
        try {
            detect(frame, Settings{"blazeface", 1.0F, 0.3F, 5});
        } catch (const cv::Exception& e) {
            // e.g. another model's input size: say which file, not only OpenCV's assertion.
            throw Error(AVA_STATUS_INVALID_ARGUMENT,
                        "'" + path_ + "' does not run as the BlazeFace back 256x256 model: " + e.err);
        }
    }
};

class Haar final : public Model {
public:
    explicit Haar(std::string path)
        : path_(std::move(path)), cascades_([this] {
              auto cascade = std::make_unique<cv::CascadeClassifier>();
              if (!cascade->load(path_)) {
                  throw Error(AVA_STATUS_INVALID_ARGUMENT, "cannot load Haar cascade '" + path_ +
                                                               "' (is opencv-data installed?)");
              }
              return cascade;
          })
    {
    }

    std::vector<Face> detect(const ava_frame& frame, const Settings& settings) const override
    {
        const double scale = ava::common::fit_width(cv::Size(static_cast<int>(frame.width),
                                                             static_cast<int>(frame.height)),
                                                    haar_max_width);
        cv::Mat gray = ava::common::convert(frame, Layout::gray, scale);
        cv::Mat equalized;
        cv::equalizeHist(gray, equalized); // the cascade was trained on equalised faces
        std::vector<cv::Rect> rects;
        std::vector<int> neighbors;
        {
            auto cascade = cascades_.acquire();
            cascade->detectMultiScale(equalized, rects, neighbors, 1.1, settings.min_neighbors, 0, cv::Size(24, 24));
        }
        std::vector<Face> faces;
        for (std::size_t i = 0; i < rects.size(); ++i) {
            Face face;
            const auto& r = rects[i];
            face.box = cv::Rect2f(static_cast<float>(r.x) / static_cast<float>(equalized.cols),
                                  static_cast<float>(r.y) / static_cast<float>(equalized.rows),
                                  static_cast<float>(r.width) / static_cast<float>(equalized.cols),
                                  static_cast<float>(r.height) / static_cast<float>(equalized.rows));
            face.neighbors = i < neighbors.size() ? neighbors[i] : 0;
            faces.push_back(face);
        }
        return faces;
    }

private:
    std::string path_;
    mutable ava::common::Pool<cv::CascadeClassifier> cascades_;
};

// In a build tree, the models folder scripts/fetch-models.sh fills: CMake links <build>/ava-build-models to it.
// Found from the running program (the host, or a test, both under the build folder), so no path of the build
// machine is compiled into the plugin: an installed plugin never reads from where it was built.
std::optional<std::filesystem::path> build_tree_models_dir()
{
    std::error_code ec;
    auto dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
    for (int up = 0; !ec && up < 4 && dir.has_relative_path(); ++up, dir = dir.parent_path()) {
        if (std::filesystem::exists(dir / "CMakeCache.txt", ec) && std::filesystem::is_directory(dir / "ava-build-models", ec)) {
            return dir / "ava-build-models";
        }
    }
    return std::nullopt;
}

std::string blazeface_default_path()
{
    std::vector<std::string> tried;
    if (const char* dir = std::getenv("AVA_MODELS_DIR"); dir != nullptr && *dir != '\0') {
        tried.push_back((std::filesystem::path(dir) / blazeface_file).string());
    }
    tried.push_back((std::filesystem::path(AVA_INSTALLED_MODELS_DIR) / blazeface_file).string());
    if (const auto build_tree = build_tree_models_dir()) {
        tried.push_back((*build_tree / blazeface_file).string());
    }
    for (const auto& path : tried) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(path, ec)) {
            return path;
        }
    }
    std::string list;
    for (const auto& path : tried) {
        list += (list.empty() ? "" : ", ") + path;
    }
    // The server's set-up is incomplete: not the caller's fault, hence INTERNAL.
    throw Error(AVA_STATUS_INTERNAL, std::string("BlazeFace model not found (tried ") + list +
                                         "); run scripts/fetch-models.sh, or set AVA_MODELS_DIR or the "
                                         "'model_path' configuration parameter, or use model 'haar'");
}

std::shared_ptr<const Model> load_model(const std::string& model, const std::string& explicit_path)
{
    if (model == "haar") {
        return std::make_shared<Haar>(explicit_path.empty() ? std::string(AVA_HAAR_FACE_CASCADE) : explicit_path);
    }
    const std::string path = explicit_path.empty() ? blazeface_default_path() : explicit_path;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw Error(AVA_STATUS_INVALID_ARGUMENT, "BlazeFace model '" + path + "' is not a readable file");
    }
    auto blazeface = std::make_shared<BlazeFace>(path);
    blazeface->check();
    return blazeface;
}

class Session {
public:
    Session(std::shared_ptr<const Model> model, Settings settings)
        : model_(std::move(model)), settings_(std::move(settings))
    {
    }

    void process(const ava_frame& frame, ava::plugin::Results& out) const
    {
        auto faces = model_->detect(frame, settings_);
        // Best first, then top to bottom, left to right: the cascade's own order depends on thread timing.
        std::sort(faces.begin(), faces.end(), [](const Face& a, const Face& b) {
            return std::tie(b.score, a.box.y, a.box.x) < std::tie(a.score, b.box.y, b.box.x);
        });
        for (const Face& face : faces) {
            const auto box = ava::common::clamp_unit(face.box);
            if (!box) {
                continue;
            }
            ava::common::Meta meta("faceDetection");
            if (face.has_keypoints) {
                for (int k = 0; k < keypoint_count; ++k) {
                    meta.attribute(std::string(keypoint_names[k]) + ".x", std::clamp(face.keypoints[k].x, 0.0F, 1.0F));
                    meta.attribute(std::string(keypoint_names[k]) + ".y", std::clamp(face.keypoints[k].y, 0.0F, 1.0F));
                }
            } else {
                meta.attribute("neighbors", std::to_string(face.neighbors));
            }
            out.entity("face", face.score, *box, nullptr, meta.get());
        }
    }

private:
    std::shared_ptr<const Model> model_;
    Settings settings_;
};

class Instance {
public:
    explicit Instance(std::string_view config_json)
    {
        config_.merge(config_json);
        const Settings settings = settings_of(config_);
        reject_other_model(config_, settings);
        // Load now: a missing or wrong model is an error at create, not on the first frame.
        models_[settings.model] = load_model(settings.model, config_.string("model_path", ""));
    }

    std::unique_ptr<Session> open_stream(const ava_stream_info& info)
    {
        ava::common::reject_per_stream(info, {"model_path"});
        const auto params = ava::common::layered(config_, info);
        Settings settings = settings_of(params);
        reject_other_model(params, settings);
        return std::make_unique<Session>(model(settings.model), std::move(settings));
    }

private:
    std::shared_ptr<const Model> model(const std::string& name)
    {
        const std::lock_guard lock(mutex_);
        auto& slot = models_[name];
        if (!slot) {
            // Only the configured model uses model_path; another one comes from its default file.
            slot = load_model(name, "");
        }
        return slot;
    }

    ava::plugin::Parameters config_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<const Model>> models_;
};

// ABI 1.1: what the configuration and each stream may set (the stream's values layer over the
// configuration's, so both take the same names); the host checks them before calling this plugin.
constexpr const char* parameters_schema = R"json({"type": "object", "additionalProperties": false, "properties":
{"model": {"enum": ["blazeface", "haar"], "description": "detector (default blazeface)"},
 "threshold": {"type": "number", "minimum": 0, "maximum": 1, "description": "blazeface: minimum score (default 0.6)"},
 "nms_threshold": {"type": "number", "minimum": 0, "maximum": 1, "description": "blazeface: box overlap merged (default 0.3)"},
 "min_neighbors": {"type": "integer", "minimum": 1, "maximum": 50, "description": "haar: hits a face needs (default 5)"},
 "model_path": {"type": "string", "description": "another model file than the bundled one"}}})json";

constexpr ava_plugin_descriptor descriptor = ava::plugin::make_descriptor<Instance, Session>(
    "faces", "1.0.0", "Face detection: MediaPipe BlazeFace (cv::dnn) or a Haar cascade; entities tagged 'face'",
    AVA_CONCURRENCY_FULL, parameters_schema, parameters_schema,
    // ABI 1.2: BlazeFace sees 256x256 whatever it is sent; fed from at least 384 per side its scores move by
    // under 0.05 (from 256 they moved by 0.058: reduced_decode_test). Haar starts near its 640-wide limit.
    ava::plugin::Input{.min_width = 384, .min_height = 384});

} // namespace

extern "C" {
AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
}
