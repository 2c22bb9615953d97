// decode_floor: the bare decode floor for the benchmark. Decodes the same JPEG the load generator sends
// (ava-loadgen's own frame builder) with cv::imdecode, in a loop on N threads, and prints JSON
// {"decodes_per_s":...,"us_per_decode":...}. Usage: decode_floor WxH seconds threads [picture]
// (picture: what ava-loadgen --image sends, resized to WxH; default its synthetic scene).

#include "frame_payload.h"
#include "load_options.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv)
{
    const std::string size = argc > 1 ? argv[1] : "416x416";
    const double seconds = argc > 2 ? std::stod(argv[2]) : 3.0;
    const unsigned threads = argc > 3 ? static_cast<unsigned>(std::stoul(argv[3])) : std::thread::hardware_concurrency();
    std::vector<const char*> args = {"decode_floor", "http", "--port", "1", "--frames", "1", "--encoding", "jpg", "--size", size.c_str()};
    if (argc > 4) {
        args.insert(args.end(), {"--image", argv[4]});
    }
    const auto options = ava::loadgen::parse_options(static_cast<int>(args.size()), args.data());
    const auto payload = ava::loadgen::make_payload(*options);
    cv::setNumThreads(1); // one decode per thread, as the host's workers do

    std::atomic<std::uint64_t> decodes{0};
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
    {
        std::vector<std::jthread> pool;
        for (unsigned t = 0; t < threads; ++t) {
            pool.emplace_back([&] {
                const cv::Mat encoded(1, static_cast<int>(payload.bytes.size()), CV_8UC1,
                                      const_cast<std::uint8_t*>(payload.bytes.data()));
                std::uint64_t mine = 0;
                while (std::chrono::steady_clock::now() < end) {
                    const cv::Mat image = cv::imdecode(encoded, cv::IMREAD_COLOR);
                    if (image.empty()) {
                        std::fprintf(stderr, "decode_floor: imdecode failed\n");
                        std::exit(1);
                    }
                    ++mine;
                }
                decodes += mine;
            });
        }
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = static_cast<double>(decodes.load()) / elapsed;
    std::printf("{\"decodes_per_s\":%.1f,\"us_per_decode_per_thread\":%.1f,\"threads\":%u}\n", rate,
                1e6 * threads / rate, threads);
    return 0;
}
