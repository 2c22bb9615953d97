#include "load_options.h"

#include <boost/program_options.hpp>

#include <charconv>
#include <iostream>
#include <stdexcept>

namespace ava::loadgen {
namespace {

namespace po = boost::program_options;

// "416x416", "720p", "1080p".
void parse_size(const std::string& text, LoadOptions& out)
{
    if (text == "720p") {
        out.width = 1280;
        out.height = 720;
        return;
    }
    if (text == "1080p") {
        out.width = 1920;
        out.height = 1080;
        return;
    }
    const auto x = text.find('x');
    std::uint32_t w = 0;
    std::uint32_t h = 0;
    const auto* end = text.data() + text.size();
    if (x == std::string::npos || std::from_chars(text.data(), text.data() + x, w).ptr != text.data() + x ||
        std::from_chars(text.data() + x + 1, end, h).ptr != end || w == 0 || h == 0 || w > 16384 || h > 16384) {
        throw std::invalid_argument("--size must be WxH (e.g. 416x416), 720p or 1080p; got '" + text + "'");
    }
    out.width = w;
    out.height = h;
}

std::vector<int> parse_statuses(const std::string& text)
{
    std::vector<int> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto comma = std::min(text.find(',', start), text.size());
        int status = 0;
        const auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + comma, status);
        if (ec != std::errc() || ptr != text.data() + comma || status < 100 || status > 599) {
            throw std::invalid_argument("--expect-status must be a comma-separated list of HTTP statuses; got '" +
                                        text + "'");
        }
        out.push_back(status);
        start = comma + 1;
    }
    return out;
}

} // namespace

std::optional<LoadOptions> parse_options(int argc, const char* const* argv)
{
    LoadOptions o;
    std::string protocol;
    std::string transfer = "embedded";
    std::string encoding = "raw";
    std::string pixel_format = "bgr24";
    std::string size = "416x416";
    std::string statuses = "200,204";
    std::string auth;
    unsigned port = 0;
    pid_t host_pid = 0;

    po::options_description d(
        "ava-loadgen: plays the video pipeline's side against a running extension host.\n"
        "  ava-loadgen grpc --port 5001 --streams 8 --transfer shm --size 416x416 --duration 10\n"
        "  ava-loadgen http --port 8080 --streams 8 --encoding jpg --path /score --duration 10\n"
        "Exits 0 only if every frame was acknowledged, correctly, and nothing failed; 1 otherwise, naming\n"
        "the streams (numbered from 0) that got no acknowledgement at all; 2 on bad usage.\nOptions");
    d.add_options()("help,h", "this help")                                                                     //
        ("protocol", po::value(&protocol)->required(), "grpc or http (also the first positional argument)") //
        ("host", po::value(&o.host), "server address (default 127.0.0.1)")                                  //
        ("port", po::value(&port)->required(), "server port")                                               //
        ("streams,n", po::value(&o.streams), "concurrent gRPC streams or HTTP connections (default 1)")     //
        ("fps", po::value(&o.fps), "frames per second per stream (default 0: as fast as acknowledged)")    //
        ("duration", po::value(&o.duration_s), "seconds to send for")                                       //
        ("frames", po::value(&o.frames), "frames to send per stream (instead of --duration)")               //
        ("warmup", po::value(&o.warmup_s), "seconds at the start not measured (frames still checked)")     //
        ("timeout", po::value(&o.timeout_s), "seconds to wait for any one answer (default 30)")            //
        ("io-threads", po::value(&o.io_threads), "HTTP client I/O threads (default 2)")                     //
        ("encoding", po::value(&encoding), "raw, jpg or bmp (default raw)")                                  //
        ("pixel-format", po::value(&pixel_format), "bgr24 or rgb24 for raw frames (default bgr24)")         //
        ("size", po::value(&size), "WxH, 720p or 1080p (default 416x416)")                                   //
        ("image", po::value(&o.image_file), "picture to send (resized to --size); default a synthetic one") //
        ("transfer", po::value(&transfer), "gRPC: embedded or shm (default embedded)")                     //
        ("window", po::value(&o.window), "gRPC: frames in flight per stream (default 4)")                   //
        ("shm-slots", po::value(&o.shm_slots), "gRPC: slots per shared-memory ring (default --window)")    //
        ("shm-write-each", po::bool_switch(&o.shm_write_each), "gRPC: copy the frame into its slot per send") //
        ("extension-configuration", po::value(&o.extension_configuration), "gRPC: descriptor's configuration") //
        ("pipeline-prefix", po::value(&o.pipeline_prefix), "gRPC: graph_instance_name prefix (default loadgen)") //
        ("auth", po::value(&auth), "credentials user:password (gRPC x-ms-authentication, HTTP Authorization)") //
        ("path", po::value(&o.path), "HTTP: request target (default /score)")                               //
        ("expect-status", po::value(&statuses), "HTTP: acceptable statuses (default 200,204)")              //
        ("json", po::bool_switch(&o.json), "print the result as JSON instead of a table")                   //
        ("quiet", po::bool_switch(&o.quiet), "no progress line a second on stderr")                        //
        ("host-pid", po::value(&host_pid), "host process id: report its CPU time per frame and memory");
    po::positional_options_description positional;
    positional.add("protocol", 1);

    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(d).positional(positional).run(), vm);
    if (vm.count("help") != 0U) {
        std::cout << d << '\n';
        return std::nullopt;
    }
    po::notify(vm);

    if (protocol == "grpc") {
        o.protocol = Protocol::grpc;
    } else if (protocol == "http") {
        o.protocol = Protocol::http;
    } else {
        throw std::invalid_argument("protocol must be grpc or http; got '" + protocol + "'");
    }
    if (port == 0 || port > 65535) {
        throw std::invalid_argument("--port must be 1..65535");
    }
    o.port = static_cast<std::uint16_t>(port);
    if (transfer == "embedded") {
        o.transfer = Transfer::embedded;
    } else if (transfer == "shm" || transfer == "shared-memory") {
        o.transfer = Transfer::shared_memory;
    } else {
        throw std::invalid_argument("--transfer must be embedded or shm; got '" + transfer + "'");
    }
    if (encoding == "raw") {
        o.encoding = Encoding::raw;
    } else if (encoding == "jpg" || encoding == "jpeg") {
        o.encoding = Encoding::jpg;
    } else if (encoding == "bmp") {
        o.encoding = Encoding::bmp;
    } else {
        throw std::invalid_argument("--encoding must be raw, jpg or bmp; got '" + encoding + "'");
    }
    if (pixel_format == "bgr24") {
        o.pixel_format = PixelFormat::bgr24;
    } else if (pixel_format == "rgb24") {
        o.pixel_format = PixelFormat::rgb24;
    } else {
        throw std::invalid_argument("--pixel-format must be bgr24 or rgb24; got '" + pixel_format + "'");
    }
    parse_size(size, o);
    o.expect_status = parse_statuses(statuses);
    if (!auth.empty()) {
        const auto colon = auth.find(':');
        if (colon == std::string::npos) {
            throw std::invalid_argument("--auth must be user:password");
        }
        o.username = auth.substr(0, colon);
        o.password = auth.substr(colon + 1);
    }
    o.host_pid = host_pid;
    if (o.streams == 0 || o.streams > 4096) {
        throw std::invalid_argument("--streams must be 1..4096");
    }
    if (o.window == 0 || o.window > 1024) {
        throw std::invalid_argument("--window must be 1..1024");
    }
    if (o.shm_slots == 0) {
        o.shm_slots = o.window;
    }
    if ((o.duration_s <= 0) == (o.frames == 0)) {
        throw std::invalid_argument("give exactly one of --duration SECONDS or --frames N");
    }
    if (o.fps < 0 || o.warmup_s < 0 || o.timeout_s <= 0) {
        throw std::invalid_argument("--fps and --warmup must not be negative, --timeout must be positive");
    }
    return o;
}

std::string name_of(Protocol p) { return p == Protocol::grpc ? "grpc" : "http"; }
std::string name_of(Transfer t) { return t == Transfer::embedded ? "embedded" : "shm"; }
std::string name_of(Encoding e)
{
    switch (e) {
    case Encoding::raw:
        return "raw";
    case Encoding::jpg:
        return "jpg";
    case Encoding::bmp:
        return "bmp";
    }
    return "?";
}
std::string name_of(PixelFormat f) { return f == PixelFormat::bgr24 ? "bgr24" : "rgb24"; }

} // namespace ava::loadgen
