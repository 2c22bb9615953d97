// faces plugin on real images, through the C ABI.
//
// Ground truth was marked by hand on zoomed frames (face from hairline/eyebrows to chin, cheek to cheek).
// Tolerances: a detector's box edges are a matter of convention (BlazeFace includes the forehead, Haar
// crops it), so we compare box CENTRES, allowing about a third of the face's width, and sizes within a
// factor of two; a detection of any other object in these frames would be far outside that.
#include "plugin_harness.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ava::test {
namespace {

cv::Mat messi() { return cv::imread(media("messi5.jpg")); }

// messi5.jpg is 548x342; the face spans x 227-256, y 94-129.
const cv::Rect2f messi_face = unit_box(227, 94, 256, 129, 548, 342);

void expect_face_at(const Inference& face, const cv::Rect2f& truth, float centre_tolerance)
{
    EXPECT_EQ(face.value, "face");
    EXPECT_EQ(face.subtype, "faceDetection");
    EXPECT_TRUE(inside_unit(face.box));
    const cv::Point2f d = centre(face.rect()) - centre(truth);
    EXPECT_LT(std::abs(d.x), centre_tolerance) << "centre x off by " << d.x;
    EXPECT_LT(std::abs(d.y), centre_tolerance * truth.height / truth.width) << "centre y off by " << d.y;
    EXPECT_GT(face.rect().width, truth.width / 2);
    EXPECT_LT(face.rect().width, truth.width * 2);
}

TEST(FacesPlugin, DeclaresItselfHonestly)
{
    const Plugin plugin("faces");
    EXPECT_STREQ(plugin.descriptor().name, "faces");
    // Inference state is leased from a pool per call: process may run concurrently.
    EXPECT_EQ(plugin.descriptor().concurrency, AVA_CONCURRENCY_FULL);
}

TEST(FacesPlugin, FindsMessisFaceWithBlazeFace)
{
    const Plugin plugin("faces");
    Instance instance(plugin);
    const auto faces = instance.open()->process(messi());
    ASSERT_EQ(faces.size(), 1U);
    // A third of the 29-pixel face width: 10 pixels of 548.
    expect_face_at(faces[0], messi_face, 10.0F / 548);
    EXPECT_GT(faces[0].confidence, 0.6F);
    EXPECT_LE(faces[0].confidence, 1.0F);
}

TEST(FacesPlugin, KeypointsAreOnTheFace)
{
    const Plugin plugin("faces");
    Instance instance(plugin);
    const auto faces = instance.open()->process(messi());
    ASSERT_EQ(faces.size(), 1U);
    const auto& a = faces[0].attributes;
    for (const char* point : {"rightEye", "leftEye", "noseTip", "mouth", "rightEar", "leftEar"}) {
        ASSERT_TRUE(a.count(std::string(point) + ".x") && a.count(std::string(point) + ".y")) << point;
        const cv::Point2f p(std::stof(a.at(std::string(point) + ".x")), std::stof(a.at(std::string(point) + ".y")));
        // Ears may sit on the box edge; allow a few pixels around the hand-marked face.
        const cv::Rect2f around(messi_face.x - 0.02F, messi_face.y - 0.02F, messi_face.width + 0.04F,
                                messi_face.height + 0.04F);
        EXPECT_TRUE(around.contains(p)) << point << " at " << p;
    }
    // Anatomy: eyes above the nose, nose above the mouth.
    EXPECT_LT(std::stof(a.at("rightEye.y")), std::stof(a.at("noseTip.y")));
    EXPECT_LT(std::stof(a.at("noseTip.y")), std::stof(a.at("mouth.y")));
}

TEST(FacesPlugin, FindsMessisFaceWithHaar)
{
    const Plugin plugin("faces");
    Instance instance(plugin, R"({"model":"haar"})");
    const auto faces = instance.open()->process(messi());
    // The cascade also fires on the crowd; the face must be among its hits.
    ASSERT_FALSE(faces.empty());
    bool found = false;
    for (const auto& face : faces) {
        EXPECT_TRUE(inside_unit(face.box));
        EXPECT_LT(face.confidence, 0.0F); // Haar gives no calibrated confidence
        const cv::Point2f d = centre(face.rect()) - centre(messi_face);
        found = found || (std::abs(d.x) < 10.0F / 548 && std::abs(d.y) < 12.0F / 342);
    }
    EXPECT_TRUE(found);
}

TEST(FacesPlugin, HaarCanBeChosenPerStream)
{
    const Plugin plugin("faces");
    Instance instance(plugin); // configured for BlazeFace
    const auto faces = instance.open(R"({"model":"haar","min_neighbors":3})")->process(messi());
    ASSERT_FALSE(faces.empty());
    EXPECT_LT(faces[0].confidence, 0.0F);
}

TEST(FacesPlugin, FindsTheFacesInMegamindFrames)
{
    // Megamind.avi is 720x528. Hand-marked faces: frame 30, a close-up (x 232-372, y 200-332) and, out of
    // focus in the background, a man (x 448-512, y 185-258); frame 100, a face to the right (x 420-570,
    // y 150-290); frame 200, a big face (x 260-520, y 150-400). The blurred background face may or may not
    // be found; nothing else may be.
    struct Truth {
        cv::Rect2f face;
        bool required;
    };
    const std::vector<std::vector<Truth>> truth{
        {{unit_box(232, 200, 372, 332, 720, 528), true}, {unit_box(448, 185, 512, 258, 720, 528), false}},
        {{unit_box(420, 150, 570, 290, 720, 528), true}},
        {{unit_box(260, 150, 520, 400, 720, 528), true}}};
    const auto frames = read_frames("Megamind.avi", {30, 100, 200});
    const Plugin plugin("faces");
    Instance instance(plugin);
    auto session = instance.open();
    for (std::size_t i = 0; i < frames.size(); ++i) {
        SCOPED_TRACE("frame " + std::to_string(i));
        const auto faces = session->process(frames[i]);
        std::vector<bool> found(truth[i].size(), false);
        for (const auto& face : faces) {
            bool matched = false;
            for (std::size_t t = 0; t < truth[i].size() && !matched; ++t) {
                // A quarter of the face width: 16-65 pixels here.
                const cv::Point2f d = centre(face.rect()) - centre(truth[i][t].face);
                if (std::abs(d.x) < truth[i][t].face.width / 4 && std::abs(d.y) < truth[i][t].face.height / 4) {
                    matched = found[t] = true;
                    expect_face_at(face, truth[i][t].face, truth[i][t].face.width / 4);
                }
            }
            EXPECT_TRUE(matched) << "unexpected face at " << face.rect();
        }
        for (std::size_t t = 0; t < truth[i].size(); ++t) {
            EXPECT_TRUE(found[t] || !truth[i][t].required) << "missed the face at " << truth[i][t].face;
        }
    }
}

TEST(FacesPlugin, NoFaceOnFlatOrTextureImages)
{
    cv::Mat flat(480, 640, CV_8UC3, cv::Scalar(128, 128, 128));
    cv::Mat noise(480, 640, CV_8UC3);
    cv::RNG rng(12345);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
    cv::Mat stripes(480, 640, CV_8UC3);
    for (int y = 0; y < stripes.rows; ++y) {
        for (int x = 0; x < stripes.cols; ++x) {
            const auto v = static_cast<uint8_t>(127.5 + 127.5 * std::sin(x * 0.2) * std::cos(y * 0.15));
            stripes.at<cv::Vec3b>(y, x) = cv::Vec3b(v, static_cast<uint8_t>(255 - v), v);
        }
    }
    const Plugin plugin("faces");
    for (const char* model : {"blazeface", "haar"}) {
        Instance instance(plugin, std::string(R"({"model":")") + model + "\"}");
        auto session = instance.open();
        EXPECT_TRUE(session->process(flat).empty()) << model;
        EXPECT_TRUE(session->process(noise).empty()) << model;
        EXPECT_TRUE(session->process(stripes).empty()) << model;
    }
}

TEST(FacesPlugin, RejectsBadParameters)
{
    const Plugin plugin("faces");
    Status s = try_create(plugin, R"({"model":"yolo"})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'model' must be one of: blazeface, haar"), std::string::npos) << s.message;

    s = try_create(plugin, R"({"threshold":1.5})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'threshold'"), std::string::npos) << s.message;

    s = try_create(plugin, R"({"treshold":0.5})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("unknown parameter 'treshold'"), std::string::npos) << s.message;

    s = try_create(plugin, R"({"model":"haar","threshold":0.5})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'threshold' applies only to model 'blazeface'"), std::string::npos) << s.message;

    Instance instance(plugin);
    s = instance.try_open(R"({"nms_threshold":"high"})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("'nms_threshold'"), std::string::npos) << s.message;

    // A caller must not point the server at files of its choosing.
    s = instance.try_open(R"({"model_path":"/etc/passwd"})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("only be set in the analyzer's configuration"), std::string::npos) << s.message;
}

TEST(FacesPlugin, MissingOrWrongModelIsAClearErrorAtCreate)
{
    const Plugin plugin("faces");
    Status s = try_create(plugin, R"({"model_path":"/nonexistent/blazeface.onnx"})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("/nonexistent/blazeface.onnx"), std::string::npos) << s.message;

    s = try_create(plugin, R"({"model_path":")" + media("messi5.jpg") + "\"}");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("cannot load BlazeFace model"), std::string::npos) << s.message;

    s = try_create(plugin, R"({"model":"haar","model_path":"/nonexistent/cascade.xml"})");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("cannot load Haar cascade '/nonexistent/cascade.xml'"), std::string::npos) << s.message;
}

TEST(FacesPlugin, ModelsDirectoryFromTheEnvironmentComesFirst)
{
    // A broken model file in $AVA_MODELS_DIR: the error proves the plugin looked there before its
    // build-time default.
    const auto dir = std::filesystem::temp_directory_path() / ("ava-faces-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "face_detection_back_256x256_barracuda.onnx") << "not a model";
    ::setenv("AVA_MODELS_DIR", dir.c_str(), 1);
    const Plugin plugin("faces");
    const Status s = try_create(plugin, "{}");
    ::unsetenv("AVA_MODELS_DIR");
    std::filesystem::remove_all(dir);
    EXPECT_NE(s.code, AVA_STATUS_OK);
    EXPECT_NE(s.message.find(dir.string()), std::string::npos) << s.message;
}

} // namespace
} // namespace ava::test
