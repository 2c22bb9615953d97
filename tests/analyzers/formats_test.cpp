// Every analyzer plugin, every pixel format, odd sizes and strides, malformed frames: through the C ABI.
#include "plugin_harness.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <ostream>
#include <thread>

namespace ava::test {
namespace {

struct Case {
    const char* plugin;
    const char* parameters;
};

// So test logs show the case, not its bytes.
std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.plugin << " " << c.parameters; }

// Parameters that make one call meaningful (motion: report from the second frame on; shadow detection
// would call most changes "shadow" while the model is that young).
const Case cases[] = {{"faces", "{}"},
                      {"faces", R"({"model":"haar"})"},
                      {"people", "{}"},
                      {"motion", R"({"warmup_frames":1,"detect_shadows":false})"},
                      {"quality", R"({"brisque":true})"},
                      {"color_intensity", "{}"}};

class EveryAnalyzer : public ::testing::TestWithParam<Case> {
protected:
    // Two frames (motion needs a change); results of the second.
    std::vector<Inference> run(ava_pixel_format format, int padding)
    {
        Instance instance(plugin_, "{}");
        auto session = instance.open(GetParam().parameters);
        session->process(Frame(frames_[0], format, padding).get());
        return session->process(Frame(frames_[1], format, padding).get());
    }

    Plugin plugin_{GetParam().plugin};
    // Frame 50 of vtest (people walking) and frame 70, for motion; with a face pasted in for faces.
    std::vector<cv::Mat> frames_ = [] {
        auto frames = read_frames("vtest.avi", {50, 70});
        const cv::Mat face = cv::imread(media("messi5.jpg"));
        for (auto& f : frames) {
            face(cv::Rect(150, 40, 200, 150)).copyTo(f(cv::Rect(20, 300, 200, 150)));
        }
        return frames;
    }();
};

TEST_P(EveryAnalyzer, GivesTheSameAnswerInEveryColourFormat)
{
    const auto reference = run(AVA_PIXEL_FORMAT_BGR24, 0);
    ASSERT_FALSE(reference.empty());
    for (const auto format : {AVA_PIXEL_FORMAT_RGB24, AVA_PIXEL_FORMAT_BGRA32, AVA_PIXEL_FORMAT_RGBA32}) {
        SCOPED_TRACE("pixel format " + std::to_string(format));
        const auto results = run(format, 12); // a padded stride too
        ASSERT_EQ(results.size(), reference.size());
        for (std::size_t i = 0; i < results.size(); ++i) {
            EXPECT_EQ(results[i].kind, reference[i].kind);
            EXPECT_EQ(results[i].value, reference[i].value);
            EXPECT_NEAR(results[i].box.l, reference[i].box.l, 1e-4);
            EXPECT_NEAR(results[i].box.t, reference[i].box.t, 1e-4);
            EXPECT_NEAR(results[i].box.w, reference[i].box.w, 1e-4);
            EXPECT_NEAR(results[i].box.h, reference[i].box.h, 1e-4);
        }
    }
}

TEST_P(EveryAnalyzer, TakesGrayFrames)
{
    for (const auto& r : run(AVA_PIXEL_FORMAT_GRAY8, 3)) {
        if (r.kind == "entity" || r.kind == "motion") {
            EXPECT_TRUE(inside_unit(r.box));
        }
    }
}

TEST_P(EveryAnalyzer, TakesAnyFrameSize)
{
    Instance instance(plugin_, "{}");
    auto session = instance.open(GetParam().parameters);
    for (const cv::Size size : {cv::Size(1, 1), cv::Size(3, 500), cv::Size(500, 3), cv::Size(63, 127),
                                cv::Size(1921, 1079)}) {
        cv::Mat image;
        cv::resize(frames_[0], image, size);
        std::vector<Inference> out;
        const Status s = session->try_process(Frame(image, AVA_PIXEL_FORMAT_BGR24, 1).get(), out);
        EXPECT_TRUE(s.ok()) << size << ": " << s.message;
        for (const auto& r : out) {
            if (r.kind == "entity" || r.kind == "motion") {
                EXPECT_TRUE(inside_unit(r.box)) << size;
            }
        }
    }
}

TEST_P(EveryAnalyzer, RejectsMalformedFramesClearly)
{
    Instance instance(plugin_, "{}");
    auto session = instance.open(GetParam().parameters);
    Frame good(frames_[0], AVA_PIXEL_FORMAT_BGR24);
    std::vector<Inference> out;

    ava_frame frame = good.get();
    frame.pixel_format = AVA_PIXEL_FORMAT_UNKNOWN;
    Status s = session->try_process(frame, out);
    EXPECT_EQ(s.code, AVA_STATUS_UNSUPPORTED);
    EXPECT_NE(s.message.find("pixel format"), std::string::npos) << s.message;

    frame = good.get();
    frame.stride_bytes = frame.width; // a third of a BGR row
    s = session->try_process(frame, out);
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("stride"), std::string::npos) << s.message;

    frame = good.get();
    frame.data = nullptr;
    s = session->try_process(frame, out);
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_FALSE(s.message.empty());
    EXPECT_TRUE(out.empty());

    // The session still works afterwards.
    EXPECT_TRUE(session->try_process(good.get(), out).ok());
}

TEST_P(EveryAnalyzer, ConcurrentCallsOnOneSessionAgreeWhenDeclaredFull)
{
    // AVA_CONCURRENCY_FULL lets the host call process() on one session from several threads at once:
    // each call must get the same answer as a lone one (detectors are leased per call, not shared).
    if (plugin_.descriptor().concurrency != AVA_CONCURRENCY_FULL) {
        GTEST_SKIP() << GetParam().plugin << " does not declare full concurrency";
    }
    Instance instance(plugin_, "{}");
    auto session = instance.open(GetParam().parameters);
    const Frame frame(frames_[0], AVA_PIXEL_FORMAT_BGR24);
    const auto reference = session->process(frame.get());
    std::vector<std::vector<Inference>> results(4);
    std::vector<std::thread> threads;
    for (auto& result : results) {
        threads.emplace_back([&] {
            for (int i = 0; i < 2; ++i) {
                std::vector<Inference> out;
                if (session->try_process(frame.get(), out).ok()) {
                    result = out;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (const auto& result : results) {
        ASSERT_EQ(result.size(), reference.size());
        for (std::size_t i = 0; i < result.size(); ++i) {
            EXPECT_EQ(result[i].value, reference[i].value);
            EXPECT_FLOAT_EQ(result[i].box.l, reference[i].box.l);
            EXPECT_FLOAT_EQ(result[i].box.w, reference[i].box.w);
        }
    }
}

TEST_P(EveryAnalyzer, RejectsParametersThatAreNotAnObject)
{
    Status s = try_create(plugin_, "[1,2]");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("JSON object"), std::string::npos) << s.message;
    s = try_create(plugin_, "{not json");
    EXPECT_EQ(s.code, AVA_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(s.message.find("not valid JSON"), std::string::npos) << s.message;
}

INSTANTIATE_TEST_SUITE_P(Plugins, EveryAnalyzer, ::testing::ValuesIn(cases), [](const auto& test) {
    std::string name = test.param.plugin;
    if (std::string(test.param.parameters).find("haar") != std::string::npos) {
        name += "_haar";
    }
    return name;
});

} // namespace
} // namespace ava::test
