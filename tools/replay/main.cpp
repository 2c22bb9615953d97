// ava-replay — plays a video file, an image or an image folder into a running host as a live pipeline over
// gRPC, prints each frame's inferences as a JSON line, and optionally writes annotated frames.
//
//   ava-replay --analyzer people /usr/share/doc/opencv-doc/examples/data/vtest.avi --annotate out/people.avi
//
// Run with --help for the options.
#include "annotate.h"
#include "frame_source.h"
#include "inference_json.h"
#include "media_stream_client.h"

#include <boost/program_options.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <pthread.h>
#include <unistd.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

namespace po = boost::program_options;
using namespace ava::replay;

namespace {

struct Options {
    std::string input;
    StreamOptions stream;
    std::string analyzer;
    std::vector<std::string> params;
    std::string rate = "native";
    double image_fps = 10.0;
    uint64_t start = 0;
    uint64_t frames = 0;
    std::string annotate;
    std::string image_format = "jpg";
    bool quiet = false;
};

// {"analyzer":A,"parameters":{k:v}}; a value that parses as JSON (number, true/false) is kept as such.
std::string extension_configuration(const std::string& analyzer, const std::vector<std::string>& params)
{
    if (params.empty()) {
        return analyzer;
    }
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    doc.AddMember("analyzer", rapidjson::Value(analyzer.c_str(), a), a);
    rapidjson::Value parameters(rapidjson::kObjectType);
    for (const auto& p : params) {
        const auto eq = p.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw std::invalid_argument("--param wants NAME=VALUE, got '" + p + "'");
        }
        const std::string value = p.substr(eq + 1);
        rapidjson::Document parsed;
        parsed.Parse(value.c_str());
        rapidjson::Value v;
        if (!parsed.HasParseError() && (parsed.IsNumber() || parsed.IsBool())) {
            v.CopyFrom(parsed, a);
        } else {
            v.SetString(value.c_str(), a);
        }
        parameters.AddMember(rapidjson::Value(p.substr(0, eq).c_str(), a), v, a);
    }
    doc.AddMember("parameters", parameters, a);
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    doc.Accept(writer);
    return buffer.GetString();
}

std::optional<Options> parse(int argc, char** argv)
{
    Options o;
    std::string transfer = "embedded";
    std::string encoding = "raw";
    po::options_description flags(
        "ava-replay — play a video file, an image or an image folder into a running ava-extension-host as a live\n"
        "pipeline over gRPC; print each frame's inferences as a JSON line (stdout) and a summary (stderr).\n"
        "Usage: ava-replay [options] INPUT\nOptions");
    flags.add_options()
        ("help,h", "print this help")
        ("target", po::value(&o.stream.target)->default_value(o.stream.target), "host:port of the gRPC extension endpoint")
        ("analyzer,a", po::value(&o.analyzer)->default_value(""), "analyzer name (empty: the host's default route)")
        ("param,p", po::value(&o.params)->composing(), "analyzer parameter NAME=VALUE (repeatable)")
        ("extension-configuration", po::value<std::string>(), "send this extension_configuration verbatim "
                                                               "(instead of --analyzer/--param)")
        ("pipeline", po::value(&o.stream.pipeline)->default_value(o.stream.pipeline), "live pipeline name sent in the descriptor")
        ("transfer", po::value(&transfer)->default_value(transfer), "embedded | shm (frames in a /dev/shm file; "
                                                                    "same machine or shared IPC namespace)")
        ("encoding", po::value(&encoding)->default_value(encoding), "raw (BGR24) | jpg | png | bmp (embedded only)")
        ("rate", po::value(&o.rate)->default_value(o.rate), "native (the video's frame rate) | max (as fast as the "
                                                            "host acknowledges) | a number of frames per second")
        ("fps", po::value(&o.image_fps)->default_value(o.image_fps), "frame rate of an image folder or image")
        ("start", po::value(&o.start)->default_value(0), "skip this many frames first")
        ("frames", po::value(&o.frames)->default_value(0), "send at most this many frames (0: all)")
        ("window", po::value(&o.stream.window)->default_value(o.stream.window), "frames in flight at most")
        ("annotate", po::value(&o.annotate), "write annotated frames: OUT.avi/.mp4/.mkv (a video) or a folder of images")
        ("image-format", po::value(&o.image_format)->default_value(o.image_format), "jpg | png: images written to an --annotate folder")
        ("quiet,q", po::bool_switch(&o.quiet), "no JSON lines, only the summary")
        ("username", po::value(&o.stream.username), "Basic credentials (x-ms-authentication)")
        ("password", po::value(&o.stream.password), "password for --username")
        ("tls-ca", po::value(&o.stream.tls_ca_file), "connect with TLS, trusting these PEM root certificates");
    po::options_description hidden;
    hidden.add_options()("input", po::value(&o.input));
    po::options_description all;
    all.add(flags).add(hidden);
    po::positional_options_description positional;
    positional.add("input", 1);
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
    if (vm.count("help") != 0U) {
        std::cout << flags << "\nExample:\n  ava-replay -a people --annotate out/people.avi "
                             "/usr/share/doc/opencv-doc/examples/data/vtest.avi\n";
        return std::nullopt;
    }
    if (o.input.empty()) {
        throw std::invalid_argument("no INPUT (a video file, an image or an image folder); see --help");
    }
    if (transfer != "embedded" && transfer != "shm") {
        throw std::invalid_argument("--transfer must be embedded or shm");
    }
    o.stream.transfer = transfer == "shm" ? Transfer::shared_memory : Transfer::embedded;
    static const std::map<std::string, Encoding> encodings{
        {"raw", Encoding::raw}, {"jpg", Encoding::jpg}, {"png", Encoding::png}, {"bmp", Encoding::bmp}};
    if (encodings.count(encoding) == 0U) {
        throw std::invalid_argument("--encoding must be raw, jpg, png or bmp");
    }
    o.stream.encoding = encodings.at(encoding);
    if (o.stream.transfer == Transfer::shared_memory && o.stream.encoding != Encoding::raw) {
        throw std::invalid_argument("--transfer shm carries raw frames only (drop --encoding)");
    }
    o.stream.extension_configuration = vm.count("extension-configuration") != 0U
                                           ? vm["extension-configuration"].as<std::string>()
                                           : extension_configuration(o.analyzer, o.params);
    return o;
}

// Blocks SIGINT/SIGTERM in every thread (gRPC's included) and turns them into `stop` on a watcher thread,
// so Ctrl-C still ends the stream cleanly and removes the shared-memory file.
class StopOnSignal {
public:
    StopOnSignal()
    {
        sigemptyset(&signals_);
        sigaddset(&signals_, SIGINT);
        sigaddset(&signals_, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
        watcher_ = std::thread([this] {
            const timespec tick{0, 200'000'000};
            while (!done_) {
                if (sigtimedwait(&signals_, nullptr, &tick) > 0) {
                    stop = true;
                }
            }
        });
    }
    ~StopOnSignal()
    {
        done_ = true;
        watcher_.join();
    }
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;
    std::atomic<bool> stop{false};

private:
    sigset_t signals_{};
    std::atomic<bool> done_{false};
    std::thread watcher_;
};

struct Summary {
    uint64_t sent = 0;
    uint64_t acked = 0;
    std::map<std::string, uint64_t> inferences; // by type
    std::vector<double> latency_ms;
};

int run(const Options& o)
{
    StopOnSignal signals;
    FrameSource source(o.input, o.image_fps);
    for (uint64_t i = 0; i < o.start && source.next(); ++i) {
    }
    StreamOptions stream = o.stream;
    stream.size = source.size();
    const double fps = o.rate == "native" ? source.fps() : o.rate == "max" ? 0.0 : std::stod(o.rate);
    if (o.rate != "native" && o.rate != "max" && !(fps > 0)) {
        throw std::invalid_argument("--rate must be native, max or a positive number");
    }

    std::optional<AnnotatedOutput> output;
    if (!o.annotate.empty()) {
        output.emplace(o.annotate, fps > 0 ? fps : source.fps(), source.size(), o.image_format);
    }
    std::mutex mutex; // guards pending and summary, shared with the ack handler (reader thread)
    std::map<uint64_t, std::pair<uint64_t, cv::Mat>> pending; // sequence -> frame index, frame (to annotate)
    Summary summary;
    const auto on_ack = [&](const Ack& ack) {
        uint64_t index = 0;
        cv::Mat frame;
        {
            const std::lock_guard lock(mutex);
            const auto it = pending.find(ack.sequence);
            if (it != pending.end()) {
                index = it->second.first;
                frame = std::move(it->second.second);
                pending.erase(it);
            }
            ++summary.acked;
            summary.latency_ms.push_back(static_cast<double>(ack.latency.count()) / 1000.0);
            for (const auto& inference : ack.sample.inferences()) {
                ++summary.inferences[contract::Inference::InferenceType_Name(inference.type())];
            }
        }
        if (!o.quiet) {
            const std::string line = json_line(index, ack);
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fputc('\n', stdout);
            std::fflush(stdout);
        }
        if (output && !frame.empty()) {
            output->write(annotate(frame, ack.sample, index), index);
        }
    };

    MediaStreamClient client(stream, on_ack);
    std::cerr << "ava-replay: " << source.describe() << " -> " << stream.target << " ("
              << client.extension_identifier() << ", "
              << (stream.transfer == Transfer::shared_memory ? "shared memory" : "embedded frames") << ", "
              << (fps > 0 ? std::to_string(fps).substr(0, 5) + " fps" : std::string("as fast as possible")) << ")\n";
    const auto begin = std::chrono::steady_clock::now();
    // On a terminal, one status line rewritten in place (4 times a second); never in a pipe or a log file.
    const bool show_progress = ::isatty(STDERR_FILENO) == 1;
    auto next_progress = begin;
    const auto progress = [&] {
        uint64_t acked = 0;
        {
            const std::lock_guard lock(mutex);
            acked = summary.acked;
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        std::fprintf(stderr, "\r\033[Kava-replay: %.1f s, %llu sent, %llu acknowledged (%.1f fps)", elapsed,
                     static_cast<unsigned long long>(summary.sent), static_cast<unsigned long long>(acked),
                     elapsed > 0 ? static_cast<double>(acked) / elapsed : 0.0);
    };
    uint64_t index = o.start;
    for (uint64_t n = 0; (o.frames == 0 || n < o.frames) && !signals.stop; ++n, ++index) {
        auto frame = source.next();
        if (!frame) {
            break;
        }
        if (fps > 0) {
            std::this_thread::sleep_until(begin + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                      std::chrono::duration<double>(static_cast<double>(n) / fps)));
        }
        {
            const std::lock_guard lock(mutex);
            pending[client.next_sequence()] = {index, output ? *frame : cv::Mat()};
        }
        const auto timestamp = static_cast<uint64_t>(static_cast<double>(n) * stream.timescale /
                                                     (fps > 0 ? fps : source.fps()));
        try {
            client.send(*frame, timestamp);
        } catch (const std::exception&) {
            break; // the host ended the stream: finish() says why
        }
        ++summary.sent;
        if (show_progress && std::chrono::steady_clock::now() >= next_progress) {
            progress();
            next_progress += std::chrono::milliseconds(250);
        }
    }
    const grpc::Status status = client.finish();
    if (show_progress) {
        progress();
        std::fputc('\n', stderr);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();

    const std::lock_guard lock(mutex);
    auto& l = summary.latency_ms;
    std::sort(l.begin(), l.end());
    const auto at = [&](double q) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<std::size_t>(q * static_cast<double>(l.size())))]; };
    std::fprintf(stderr, "ava-replay: %llu frames sent, %llu acknowledged in %.2f s (%.1f fps); latency ms p50 %.1f p95 %.1f max %.1f\n",
                 static_cast<unsigned long long>(summary.sent), static_cast<unsigned long long>(summary.acked), seconds,
                 seconds > 0 ? static_cast<double>(summary.acked) / seconds : 0.0, at(0.5), at(0.95), l.empty() ? 0.0 : l.back());
    std::string counts;
    for (const auto& [type, count] : summary.inferences) {
        counts += " " + type + "=" + std::to_string(count);
    }
    std::fprintf(stderr, "ava-replay: inferences:%s\n", counts.empty() ? " none" : counts.c_str());
    if (output) {
        std::fprintf(stderr, "ava-replay: %s\n", output->describe().c_str());
    }
    if (!status.ok()) {
        std::fprintf(stderr, "ava-replay: the host ended the stream: %s\n", status.error_message().c_str());
        return 1;
    }
    return signals.stop ? 130 : 0;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const auto options = parse(argc, argv);
        return options ? run(*options) : 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ava-replay: %s\n", e.what());
        return 2;
    }
}
