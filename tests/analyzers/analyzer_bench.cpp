// analyzer_bench — time per frame of an analyzer plugin on real footage, through the C ABI (no host).
//   analyzer_bench [--frames N] [--skip N] [--threads N] [--config JSON] [--params JSON] [--print] PLUGIN [MEDIA]
// Default media: vtest.avi (768x576). Prints ms/frame (mean, median, max) after one untimed warm-up frame;
// --print also prints each frame's inferences; --threads sets OpenCV's thread count (the plugins share this
// process's OpenCV), e.g. 1 for a per-core figure that does not depend on the machine's other load.
#include "plugin_harness.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>

int main(int argc, char** argv)
{
    int frames = 50;
    int skip = 0;
    bool print = false;
    std::string config = "{}";
    std::string params = "{}";
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--frames" && i + 1 < argc) {
            frames = std::stoi(argv[++i]);
        } else if (arg == "--skip" && i + 1 < argc) {
            skip = std::stoi(argv[++i]);
        } else if (arg == "--config" && i + 1 < argc) {
            config = argv[++i];
        } else if (arg == "--params" && i + 1 < argc) {
            params = argv[++i];
        } else if (arg == "--threads" && i + 1 < argc) {
            cv::setNumThreads(std::stoi(argv[++i]));
        } else if (arg == "--print") {
            print = true;
        } else {
            positional.push_back(arg);
        }
    }
    if (positional.empty()) {
        std::cerr << "usage: analyzer_bench [--frames N] [--skip N] [--threads N] [--config JSON] [--params JSON] "
                     "[--print] PLUGIN [VIDEO|IMAGE]\n";
        return 2;
    }
    try {
        const std::string path = positional.size() > 1 ? positional[1] : ava::test::media("vtest.avi");
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
        ava::test::Plugin plugin(positional[0]);
        ava::test::Instance instance(plugin, config);
        auto session = instance.open(params, static_cast<uint32_t>(images[0].cols), static_cast<uint32_t>(images[0].rows));
        std::vector<double> ms;
        for (std::size_t n = 0; n < images.size(); ++n) {
            const ava::test::Frame frame(images[n], AVA_PIXEL_FORMAT_BGR24);
            const auto start = std::chrono::steady_clock::now();
            const auto results = session->process(frame.get());
            const auto end = std::chrono::steady_clock::now();
            if (n > 0) { // the first frame pays one-time costs (lazy allocations, thread pool start)
                ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
            }
            if (print) {
                std::printf("frame %zu:", n + static_cast<std::size_t>(skip));
                for (const auto& r : results) {
                    std::printf(" [%s %s %s %.3f (%.3f %.3f %.3f %.3f)", r.kind.c_str(), r.subtype.c_str(),
                                r.value.c_str(), static_cast<double>(r.confidence), static_cast<double>(r.box.l),
                                static_cast<double>(r.box.t), static_cast<double>(r.box.w),
                                static_cast<double>(r.box.h));
                    for (const auto& [k, v] : r.attributes) {
                        std::printf(" %s=%s", k.c_str(), v.c_str());
                    }
                    std::printf("]");
                }
                std::printf("\n");
            }
        }
        if (ms.empty()) {
            return 0;
        }
        std::vector<double> sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        std::printf("%s %s %dx%d, %d threads: %zu frames, mean %.1f ms, median %.1f ms, max %.1f ms\n", positional[0].c_str(),
                    params.c_str(), images[0].cols, images[0].rows, cv::getNumThreads(), ms.size(),
                    std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size()),
                    sorted[sorted.size() / 2], sorted.back());
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "analyzer_bench: " << e.what() << "\n";
        return 1;
    }
}
