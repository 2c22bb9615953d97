// The analyzer plugins through the real host binary over HTTP (tests/support's HostProcess): the same
// real footage and hand-marked ground truth as the plugin-level tests, now with image decoding, routing
// ("/<analyzer>?param=value"), the JSON writer and status codes in the loop.
#include "host_process.h"
#include "plugin_harness.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <rapidjson/document.h>

#include <fstream>
#include <iterator>

namespace ava::test {
namespace {

std::string file_bytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Raw BGR pixels, so what the analyzer sees is exactly the decoded video frame (no JPEG round trip).
struct Raw {
    std::string content_type;
    std::string body;
};
Raw raw(const cv::Mat& bgr)
{
    const cv::Mat continuous = bgr.isContinuous() ? bgr : bgr.clone();
    return {"image/x-raw; width=" + std::to_string(bgr.cols) + "; height=" + std::to_string(bgr.rows) +
                "; format=bgr24",
            std::string(reinterpret_cast<const char*>(continuous.data), continuous.total() * continuous.elemSize())};
}

// The body's inferences in the harness's form (box, tag/value, subtype, attributes).
std::vector<Inference> inferences_of(const HttpReply& reply)
{
    std::vector<Inference> out;
    if (reply.status == 204) {
        return out;
    }
    rapidjson::Document doc;
    doc.Parse(reply.body.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("inferences")) {
        throw std::runtime_error("not an inference body: " + reply.body);
    }
    for (const auto& v : doc["inferences"].GetArray()) {
        Inference i;
        i.kind = v["type"].GetString();
        if (v.HasMember("subtype")) {
            i.subtype = v["subtype"].GetString();
        }
        const auto& body = v[i.kind.c_str()];
        if (body.HasMember("tag")) {
            i.value = body["tag"]["value"].GetString();
            if (body["tag"].HasMember("confidence")) {
                i.confidence = body["tag"]["confidence"].GetFloat();
            }
        }
        if (body.HasMember("box")) {
            const auto& b = body["box"];
            i.box = ava_box{b["l"].GetFloat(), b["t"].GetFloat(), b["w"].GetFloat(), b["h"].GetFloat()};
        }
        if (body.HasMember("attributes")) {
            for (const auto& a : body["attributes"].GetArray()) {
                i.attributes[a["name"].GetString()] = a["value"].GetString();
            }
        }
        out.push_back(i);
    }
    return out;
}

// One host for the suite: starting one per test would dominate the run time.
class AnalyzersOverHttp : public ::testing::Test {
protected:
    static void SetUpTestSuite() { host_ = std::make_unique<HostProcess>(std::vector<std::string>{"--no-grpc"}); }
    static void TearDownTestSuite() { host_.reset(); }
    void TearDown() override { ASSERT_TRUE(host_->running()) << host_->log(); }

    static HttpReply post(const std::string& target, const std::string& content_type, const std::string& body)
    {
        return http_post(host_->http_port(), target, content_type, body);
    }
    static HttpReply post(const std::string& target, const cv::Mat& bgr)
    {
        const Raw r = raw(bgr);
        return post(target, r.content_type, r.body);
    }
    static std::vector<Inference> ok(const HttpReply& reply)
    {
        EXPECT_EQ(reply.status, 200) << reply.body;
        EXPECT_EQ(schema_violation(reply.body), "") << reply.body;
        return inferences_of(reply);
    }
    static void expect_bad_request(const HttpReply& reply, const std::string& message_part)
    {
        EXPECT_EQ(reply.status, 400) << reply.body;
        EXPECT_NE(reply.body.find(message_part), std::string::npos) << reply.body;
    }

    static std::unique_ptr<HostProcess> host_;
};

std::unique_ptr<HostProcess> AnalyzersOverHttp::host_;

TEST_F(AnalyzersOverHttp, FacesFindsMessiInTheJpegFile)
{
    // messi5.jpg (548x342), face hand-marked at x 227-256, y 94-129; centre tolerance 10 pixels, a third
    // of the face's width (see faces_test.cpp).
    const cv::Rect2f truth = unit_box(227, 94, 256, 129, 548, 342);
    for (const char* target : {"/faces", "/faces?model=haar"}) {
        SCOPED_TRACE(target);
        const auto faces = ok(post(target, "image/jpeg", file_bytes(media("messi5.jpg"))));
        ASSERT_FALSE(faces.empty());
        bool found = false;
        for (const auto& face : faces) {
            EXPECT_EQ(face.kind, "entity");
            EXPECT_EQ(face.value, "face");
            EXPECT_EQ(face.subtype, "faceDetection");
            const cv::Point2f d = centre(face.rect()) - centre(truth);
            found = found || (std::abs(d.x) < 10.0F / 548 && std::abs(d.y) < 12.0F / 342);
        }
        EXPECT_TRUE(found);
    }
    // BlazeFace: exactly that one face, with its score and keypoints.
    const auto faces = ok(post("/faces", "image/jpeg", file_bytes(media("messi5.jpg"))));
    ASSERT_EQ(faces.size(), 1U);
    EXPECT_GT(faces[0].confidence, 0.6F);
    EXPECT_EQ(faces[0].attributes.size(), 12U);
    EXPECT_TRUE(faces[0].attributes.count("noseTip.x"));
}

TEST_F(AnalyzersOverHttp, FacesFindsTheMegamindFaceInAPng)
{
    // Frame 100 (720x528): face hand-marked at x 420-570, y 150-290.
    const cv::Rect2f truth = unit_box(420, 150, 570, 290, 720, 528);
    std::vector<uint8_t> png;
    ASSERT_TRUE(cv::imencode(".png", read_frames("Megamind.avi", {100})[0], png));
    const auto faces = ok(post("/faces", "image/png", std::string(png.begin(), png.end())));
    ASSERT_EQ(faces.size(), 1U);
    const cv::Point2f d = centre(faces[0].rect()) - centre(truth);
    EXPECT_LT(std::abs(d.x), truth.width / 4);
    EXPECT_LT(std::abs(d.y), truth.height / 4);
}

TEST_F(AnalyzersOverHttp, NoFaceIsNoContent)
{
    const cv::Mat flat(480, 640, CV_8UC3, cv::Scalar(128, 128, 128));
    const auto reply = post("/faces", flat);
    EXPECT_EQ(reply.status, 204) << reply.body;
    EXPECT_TRUE(reply.body.empty());
}

TEST_F(AnalyzersOverHttp, PeopleFindsWalkersInVtest)
{
    // Frame 50: six people hand-marked (see people_test.cpp); at least four found at IoU >= 0.3.
    const auto px = [](float x0, float y0, float x1, float y1) { return unit_box(x0, y0, x1, y1, 768, 576); };
    const std::vector<cv::Rect2f> truth{px(372, 180, 400, 258), px(410, 181, 430, 262), px(432, 175, 458, 246),
                                        px(505, 216, 541, 310), px(552, 214, 588, 303), px(667, 257, 714, 370)};
    const auto people = ok(post("/people", read_frames("vtest.avi", {50})[0]));
    std::size_t matched = 0;
    for (const auto& p : people) {
        EXPECT_EQ(p.value, "person");
        for (const auto& t : truth) {
            if (iou(p.rect(), t) >= 0.3F) {
                ++matched;
                break;
            }
        }
    }
    EXPECT_GE(matched, 4U);
    EXPECT_LE(people.size() - matched, 1U);
}

TEST_F(AnalyzersOverHttp, QualityTellsSharpFromBlurred)
{
    const cv::Mat sharp = read_frames("vtest.avi", {50})[0];
    cv::Mat blurred;
    cv::GaussianBlur(sharp, blurred, cv::Size(9, 9), 0);
    const auto value_of = [](const std::vector<Inference>& all, const char* subtype) {
        const auto found = only(all, "classification", subtype);
        return found.size() == 1 ? found[0].value : std::string("<missing>");
    };
    const auto before = ok(post("/quality?brisque=true", sharp));
    EXPECT_EQ(value_of(before, "sharpness"), "sharp");
    EXPECT_EQ(value_of(before, "exposure"), "normal");
    EXPECT_EQ(value_of(before, "quality"), "good");
    const auto after = ok(post("/quality?brisque=true", blurred));
    EXPECT_EQ(value_of(after, "sharpness"), "blurred");
    EXPECT_EQ(value_of(after, "quality"), "poor");
    cv::Mat dark;
    sharp.convertTo(dark, -1, 0.2);
    EXPECT_EQ(value_of(ok(post("/quality", dark)), "exposure"), "underexposed");
}

TEST_F(AnalyzersOverHttp, MotionNeedsAStreamSoOneRequestReportsNothing)
{
    // Each HTTP request is a session of one frame: the background model is still warming up.
    const auto reply = post("/motion", read_frames("vtest.avi", {50})[0]);
    EXPECT_EQ(reply.status, 204) << reply.body;
}

// Intel's clients name their stream (?stream-id=): its frames share one analyzer session, so motion works
// over HTTP as over gRPC; an empty POST ends the stream (204) and the next frame starts a new session.
TEST_F(AnalyzersOverHttp, MotionWorksOverHttpWhenRequestsNameTheirStream)
{
    const auto& frames = vtest_walking();
    int with_motion = 0;
    for (const auto& frame : frames) {
        const auto reply = post("/motion?stream-id=courtyard", frame);
        ASSERT_TRUE(reply.status == 200 || reply.status == 204) << reply.status << " " << reply.body;
        if (reply.status == 200) {
            const auto found = ok(reply);
            with_motion += found.empty() ? 0 : 1;
            for (const auto& inference : found) {
                EXPECT_EQ(inference.kind, "motion");
            }
        }
    }
    // People walk through every frame of 0..50: once the background model has settled, motion is found.
    EXPECT_GT(with_motion, static_cast<int>(frames.size()) / 3);
    // Another stream is another session: its first frame has no background yet.
    EXPECT_EQ(post("/motion?stream-id=other-camera", frames.back()).status, 204);
    // The client ends the stream with an empty POST; the next frame starts over.
    EXPECT_EQ(post("/motion?stream-id=courtyard", "image/x-raw", "").status, 204);
    EXPECT_EQ(post("/motion?stream-id=courtyard", frames.back()).status, 204);
    // Without a stream identity an empty body is still an error.
    expect_bad_request(post("/motion", "image/x-raw", ""), "empty body");
}

TEST_F(AnalyzersOverHttp, BadParametersAreClearBadRequests)
{
    const cv::Mat frame(120, 160, CV_8UC3, cv::Scalar(10, 20, 30));
    expect_bad_request(post("/faces?model=yolo", frame),
                       R"(analyzer 'faces': parameter 'model': must be one of \"blazeface\", \"haar\" (got \"yolo\"))");
    expect_bad_request(post("/faces?threshold=2", frame), "parameter 'threshold': must be a number between 0 and 1 (got 2)");
    expect_bad_request(post("/faces?model_path=/etc/passwd", frame), "only be set in the analyzer's configuration");
    expect_bad_request(post("/people?win_stride=12", frame), "parameter 'win_stride': must be one of 8, 16, 24, 32 (got 12)");
    expect_bad_request(post("/motion?method=magic", frame), R"(parameter 'method': must be one of \"mog2\", \"knn\")");
    expect_bad_request(post("/quality?brisque=maybe", frame), "parameter 'brisque': must be true or false");
    expect_bad_request(post("/quality?blur_treshold=3", frame), "unknown parameter 'blur_treshold'");
}

} // namespace
} // namespace ava::test
