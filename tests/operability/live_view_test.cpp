// The live view through the real host: GET /streams lists a running gRPC stream by its pipeline; its
// /streams/<id>/view is an MJPEG whose frames show the analyzer's boxes; and the page at /ui, loaded in a
// real headless browser (Debian's chromium), shows the stream without console errors.
#include "host_process.h"
#include "stream_client.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <rapidjson/document.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace ava::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t width = 320;
constexpr std::uint32_t height = 240;
constexpr const char* pipeline = "lobby-camera";

// Black frames to the probe analyzer (an entity and a motion region at x,y,w,h = .25,.25,.5,.5, and a
// classification) at about 25 fps until stopped.
class ProbeStream {
public:
    explicit ProbeStream(std::uint16_t port) : worker_([this, port] { run(port); }) {}
    ProbeStream(const ProbeStream&) = delete;
    ProbeStream& operator=(const ProbeStream&) = delete;
    ~ProbeStream()
    {
        stop_ = true;
        worker_.join();
    }
    int acked() const { return acked_.load(); }

private:
    void run(std::uint16_t port)
    {
        StreamClient client(make_channel(port));
        DescriptorSpec spec;
        spec.pipeline = pipeline;
        spec.extension_configuration = "probe";
        spec.width = width;
        spec.height = height;
        MediaStreamMessage reply;
        if (!client.send(descriptor_message(spec)) || !client.read(reply)) {
            return;
        }
        const auto black = solid_raw_frame(width, height, width * 3, {0, 0, 0});
        for (std::uint64_t i = 0; !stop_; ++i) {
            if (!client.send(embedded_sample(2 + i, i, black)) || !client.read(reply)) {
                break;
            }
            ++acked_;
            std::this_thread::sleep_for(40ms);
        }
        client.writes_done();
        client.drain_and_finish();
    }

    std::atomic<bool> stop_{false};
    std::atomic<int> acked_{0};
    std::thread worker_;
};

// Sends `request` and collects what comes back for `duration` (an MJPEG response never ends by itself).
std::string read_for(std::uint16_t port, const std::string& request, std::chrono::milliseconds duration)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string received;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
        const timeval poll{0, 100000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &poll, sizeof poll);
        const auto deadline = std::chrono::steady_clock::now() + duration;
        char chunk[16384];
        while (std::chrono::steady_clock::now() < deadline) {
            const auto n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                break;
            }
            if (n > 0) {
                received.append(chunk, static_cast<std::size_t>(n));
            }
        }
    }
    ::close(fd);
    return received;
}

struct LiveView : ::testing::Test {
    static void SetUpTestSuite()
    {
        plugins = std::make_unique<TempDir>();
        copy_plugins(plugins->path(), {"libprobe.so"});
        host = std::make_unique<HostProcess>(std::vector<std::string>{}, plugins->path());
        stream = std::make_unique<ProbeStream>(host->grpc_port());
        ASSERT_TRUE(eventually([] { return stream->acked() >= 3; })) << host->log();
    }
    static void TearDownTestSuite()
    {
        stream.reset();
        host.reset();
        plugins.reset();
    }
    static std::string stream_id()
    {
        const auto listing = http_request(host->http_port(), "GET", "/streams");
        rapidjson::Document doc;
        doc.Parse(listing.body.c_str());
        if (doc.HasParseError() || !doc.IsObject() || !doc["streams"].IsArray()) {
            ADD_FAILURE() << listing.body;
            return "";
        }
        for (const auto& s : doc["streams"].GetArray()) {
            if (std::string(s["pipeline"].GetString()) == pipeline) {
                return s["id"].GetString();
            }
        }
        ADD_FAILURE() << "stream " << pipeline << " not listed: " << listing.body;
        return "";
    }
    static inline std::unique_ptr<TempDir> plugins;
    static inline std::unique_ptr<HostProcess> host;
    static inline std::unique_ptr<ProbeStream> stream;
};

TEST_F(LiveView, StreamsListsTheRunningStreamWithItsFigures)
{
    const auto listing = http_request(host->http_port(), "GET", "/streams");
    ASSERT_EQ(listing.status, 200);
    rapidjson::Document doc;
    doc.Parse(listing.body.c_str());
    ASSERT_FALSE(doc.HasParseError()) << listing.body;
    const auto& s = doc["streams"][0];
    EXPECT_STREQ(s["protocol"].GetString(), "grpc");
    EXPECT_STREQ(s["pipeline"].GetString(), pipeline);
    EXPECT_STREQ(s["node"].GetString(), "grpcExtension");
    EXPECT_STREQ(s["analyzer"].GetString(), "probe");
    EXPECT_GE(s["frames"].GetUint64(), 3U);
    EXPECT_EQ(s["errors"].GetUint64(), 0U);
    for (const char* key : {"route", "fps", "inFlight", "started", "view"}) {
        EXPECT_TRUE(s.HasMember(key)) << key;
    }
}

TEST_F(LiveView, ViewIsAnMjpegOfAnnotatedFrames)
{
    const auto id = stream_id();
    ASSERT_FALSE(id.empty());
    const auto bytes = read_for(host->http_port(), "GET /streams/" + id + "/view HTTP/1.1\r\nHost: test\r\n\r\n", 1500ms);
    ASSERT_TRUE(bytes.starts_with("HTTP/1.1 200")) << bytes.substr(0, 300);
    EXPECT_NE(bytes.find("Content-Type: multipart/x-mixed-replace; boundary=ava-frame"), std::string::npos);
    // Parts: --ava-frame, Content-Type: image/jpeg, Content-Length: N, blank line, N bytes.
    int parts = 0;
    cv::Mat first;
    for (std::size_t at = bytes.find("--ava-frame\r\n"); at != std::string::npos; at = bytes.find("--ava-frame\r\n", at + 1)) {
        const auto length_at = bytes.find("Content-Length: ", at);
        const auto body_at = bytes.find("\r\n\r\n", at);
        if (length_at == std::string::npos || body_at == std::string::npos) {
            break;
        }
        const auto length = std::stoul(bytes.substr(length_at + 16));
        if (body_at + 4 + length > bytes.size()) {
            break; // cut off by our wait
        }
        const std::vector<std::uint8_t> jpeg(bytes.begin() + static_cast<std::ptrdiff_t>(body_at + 4),
                                             bytes.begin() + static_cast<std::ptrdiff_t>(body_at + 4 + length));
        const auto image = cv::imdecode(jpeg, cv::IMREAD_COLOR);
        ASSERT_FALSE(image.empty()) << "part " << parts << " is not a JPEG";
        if (first.empty()) {
            first = image;
        }
        ++parts;
    }
    // At most 5 a second (1.5 s: up to 8, with the picture waiting at the start), and some.
    EXPECT_GE(parts, 2);
    EXPECT_LE(parts, 9);
    ASSERT_FALSE(first.empty());
    ASSERT_EQ(first.cols, static_cast<int>(width));
    ASSERT_EQ(first.rows, static_cast<int>(height));
    // The motion region (orange, drawn over the entity box) on the box's left edge; black inside the box.
    const auto edge = first.at<cv::Vec3b>(static_cast<int>(height / 2), static_cast<int>(width / 4));
    EXPECT_GT(edge[2], 200) << "R at the box edge";
    EXPECT_GT(edge[1], 110) << "G at the box edge";
    EXPECT_LT(edge[0], 90) << "B at the box edge";
    const auto inside = first.at<cv::Vec3b>(static_cast<int>(height / 2), static_cast<int>(width / 2));
    EXPECT_LT(inside[0] + inside[1] + inside[2], 60) << "the frame itself is black";
}

TEST_F(LiveView, UnknownViewIs404)
{
    EXPECT_EQ(http_request(host->http_port(), "GET", "/streams/999999/view").status, 404);
}

std::string read_all(const std::filesystem::path& path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST_F(LiveView, PageInAHeadlessBrowserListsTheStream)
{
    const std::filesystem::path chromium = "/usr/bin/chromium";
    if (!std::filesystem::exists(chromium)) {
        GTEST_SKIP() << "Debian's chromium is not installed (scripts/debian-packages.txt lists it; CI has it): "
                        "the page is not tested in a browser";
    }
    TempDir profile;
    const auto stderr_file = profile.path() / "stderr.txt";
    // Virtual time lets the page's first refresh (two fetches) finish before the DOM is dumped; no sandbox:
    // tests may run as root in a container.
    const std::string command = "timeout 60 " + chromium.string() +
                                " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
                                " --user-data-dir=" + (profile.path() / "profile").string() +
                                " --enable-logging=stderr --v=0 --virtual-time-budget=4000 --dump-dom"
                                " http://127.0.0.1:" + std::to_string(host->http_port()) + "/ui 2>" + stderr_file.string();
    std::string dom;
    {
        const std::unique_ptr<FILE, int (*)(FILE*)> out(::popen(command.c_str(), "r"), ::pclose);
        ASSERT_TRUE(out);
        char chunk[4096];
        for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, out.get())) > 0;) {
            dom.append(chunk, n);
        }
    }
    const auto log = read_all(stderr_file);
    ASSERT_NE(dom.find("<h1>ava-extension-host</h1>"), std::string::npos) << dom << log;
    EXPECT_NE(dom.find("updated "), std::string::npos) << "the page's refresh did not complete:\n" << dom;
    EXPECT_NE(dom.find("<td>" + std::string(pipeline) + "</td>"), std::string::npos) << dom;
    EXPECT_NE(dom.find("<td>probe</td>"), std::string::npos) << dom;
    EXPECT_NE(dom.find("/view\">watch</a>"), std::string::npos) << dom;
    // Every console message (an uncaught error above all) is logged as [...:INFO:CONSOLE:<line>] "...".
    EXPECT_EQ(log.find(":CONSOLE"), std::string::npos) << log;
}

} // namespace
} // namespace ava::test
