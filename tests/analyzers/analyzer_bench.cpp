// analyzer_bench — time per frame of an analyzer plugin on real footage, through the C ABI (no host), and
// for `people` its recall and precision on the hand-marked vtest.avi frames (people_truth.h).
//   analyzer_bench [--frames N] [--skip N] [--threads N] [--size WxH] [--config JSON] [--params JSON]
//                  [--baseline PLUGIN.so] [--baseline-params JSON] [--accuracy] [--print] PLUGIN [MEDIA]
// Default media: vtest.avi (768x576). Prints ms/frame (mean, median, max) after one untimed warm-up frame;
// --print also prints each frame's inferences; --threads sets OpenCV's thread count (the plugins share this
// process's OpenCV), e.g. 1 for a per-core figure that does not depend on the machine's other load;
// --size resizes the frames first (e.g. 640x480, a common camera size).
// --baseline also runs another build of the plugin (a path to its .so, e.g. a copy of the old one) with
// --baseline-params (default: --params), frame by frame alternately with PLUGIN so both see the same
// machine load, and prints the ratio of the medians. --accuracy (people) scores both on the hand-marked
// frames, at their own 768x576 size: recall, precision, hits and false alarms.
#include "people_truth.h"
#include "plugin_harness.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>

namespace {

using namespace ava::test;

// One build of a plugin with its parameters, and the times it took.
struct Variant {
    std::string label;
    std::string params;
    std::unique_ptr<Plugin> plugin;
    std::unique_ptr<Instance> instance;
    std::unique_ptr<Session> session;
    std::vector<double> ms;

    Variant(std::string label_, const std::string& so, const std::string& config, std::string params_, cv::Size size)
        : label(std::move(label_)), params(std::move(params_)), plugin(std::make_unique<Plugin>(so)),
          instance(std::make_unique<Instance>(*plugin, config)),
          session(instance->open(params, static_cast<uint32_t>(size.width), static_cast<uint32_t>(size.height)))
    {
    }

    double median() const
    {
        std::vector<double> sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        return sorted.empty() ? 0.0 : sorted[sorted.size() / 2];
    }
};

void print_results(std::size_t n, const std::vector<Inference>& results)
{
    std::printf("frame %zu:", n);
    for (const auto& r : results) {
        std::printf(" [%s %s %s %.3f (%.3f %.3f %.3f %.3f)", r.kind.c_str(), r.subtype.c_str(), r.value.c_str(),
                    static_cast<double>(r.confidence), static_cast<double>(r.box.l), static_cast<double>(r.box.t),
                    static_cast<double>(r.box.w), static_cast<double>(r.box.h));
        for (const auto& [k, v] : r.attributes) {
            std::printf(" %s=%s", k.c_str(), v.c_str());
        }
        std::printf("]");
    }
    std::printf("\n");
}

// Recall and precision of one variant on the hand-marked vtest frames (best-scoring detections first).
PeopleScore accuracy(Variant& v, const std::vector<cv::Mat>& marked)
{
    PeopleScore total;
    for (std::size_t f = 0; f < marked.size(); ++f) {
        auto people = only(v.session->process(marked[f]), "entity");
        std::stable_sort(people.begin(), people.end(),
                         [](const Inference& a, const Inference& b) { return a.confidence > b.confidence; });
        std::vector<cv::Rect2f> boxes;
        for (const auto& p : people) {
            boxes.push_back(p.rect());
        }
        total += score_people(vtest_people()[f], boxes);
    }
    return total;
}

} // namespace

int main(int argc, char** argv)
{
    int frames = 50;
    int skip = 0;
    bool print = false;
    bool measure_accuracy = false;
    cv::Size resize_to;
    std::string config = "{}";
    std::string params = "{}";
    std::string baseline;
    std::string baseline_params;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--frames" && has_value) {
            frames = std::stoi(argv[++i]);
        } else if (arg == "--skip" && has_value) {
            skip = std::stoi(argv[++i]);
        } else if (arg == "--config" && has_value) {
            config = argv[++i];
        } else if (arg == "--params" && has_value) {
            params = argv[++i];
        } else if (arg == "--baseline" && has_value) {
            baseline = argv[++i];
        } else if (arg == "--baseline-params" && has_value) {
            baseline_params = argv[++i];
        } else if (arg == "--size" && has_value) {
            const std::string s = argv[++i];
            const auto x = s.find('x');
            resize_to = x == std::string::npos ? cv::Size() : cv::Size(std::stoi(s.substr(0, x)), std::stoi(s.substr(x + 1)));
        } else if (arg == "--threads" && has_value) {
            cv::setNumThreads(std::stoi(argv[++i]));
        } else if (arg == "--accuracy") {
            measure_accuracy = true;
        } else if (arg == "--print") {
            print = true;
        } else {
            positional.push_back(arg);
        }
    }
    if (positional.empty()) {
        std::cerr << "usage: analyzer_bench [--frames N] [--skip N] [--threads N] [--size WxH] [--config JSON] "
                     "[--params JSON] [--baseline PLUGIN.so] [--baseline-params JSON] [--accuracy] [--print] "
                     "PLUGIN [VIDEO|IMAGE]\n";
        return 2;
    }
    try {
        const std::string path = positional.size() > 1 ? positional[1] : media("vtest.avi");
        std::vector<cv::Mat> images;
        if (cv::Mat image = cv::imread(path); !image.empty()) {
            images.assign(static_cast<std::size_t>(frames) + 1, image);
        } else {
            cv::VideoCapture capture(path);
            cv::Mat frame;
            for (int i = 0; i < skip && capture.read(frame); ++i) {
            }
            while (static_cast<int>(images.size()) < frames + 1 && capture.read(frame)) {
                images.push_back(frame.clone());
            }
        }
        if (images.empty()) {
            throw std::runtime_error("no frames in " + path);
        }
        if (!resize_to.empty()) {
            for (auto& image : images) {
                cv::Mat resized;
                cv::resize(image, resized, resize_to, 0, 0, cv::INTER_AREA);
                image = resized;
            }
        }
        std::vector<Variant> variants;
        variants.emplace_back("new", positional[0], config, params, images[0].size());
        if (!baseline.empty()) {
            variants.emplace_back("baseline", baseline, config, baseline_params.empty() ? params : baseline_params,
                                  images[0].size());
        }
        for (std::size_t n = 0; n < images.size(); ++n) {
            const Frame frame(images[n], AVA_PIXEL_FORMAT_BGR24);
            for (auto& v : variants) { // alternately, so a burst of load on the machine hits both alike
                const auto start = std::chrono::steady_clock::now();
                const auto results = v.session->process(frame.get());
                const auto end = std::chrono::steady_clock::now();
                if (n > 0) { // the first frame pays one-time costs (lazy allocations, thread pool start)
                    v.ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
                }
                if (print) {
                    std::printf("%s ", v.label.c_str());
                    print_results(n + static_cast<std::size_t>(skip), results);
                }
            }
        }
        for (const auto& v : variants) {
            if (v.ms.empty()) {
                continue;
            }
            std::printf("%-8s %s %s %dx%d, %d threads: %zu frames, mean %.1f ms, median %.1f ms, max %.1f ms\n",
                        v.label.c_str(), positional[0].c_str(), v.params.c_str(), images[0].cols, images[0].rows,
                        cv::getNumThreads(), v.ms.size(),
                        std::accumulate(v.ms.begin(), v.ms.end(), 0.0) / static_cast<double>(v.ms.size()),
                        v.median(), *std::max_element(v.ms.begin(), v.ms.end()));
        }
        if (variants.size() > 1 && variants[0].median() > 0) {
            std::printf("speed-up (baseline median / new median): %.2fx\n", variants[1].median() / variants[0].median());
        }
        if (measure_accuracy) {
            std::vector<int> indices;
            for (const auto& t : vtest_people()) {
                indices.push_back(t.frame);
            }
            const auto marked = read_frames("vtest.avi", indices);
            for (auto& v : variants) {
                const PeopleScore s = accuracy(v, marked);
                std::printf("%-8s accuracy on %zu hand-marked vtest.avi frames (768x576): recall %.3f (%zu of %zu "
                            "people), precision %.3f (%zu false alarms)\n",
                            v.label.c_str(), marked.size(), s.recall(), s.hits, s.people, s.precision(),
                            s.false_alarms);
            }
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "analyzer_bench: " << e.what() << "\n";
        return 1;
    }
}
