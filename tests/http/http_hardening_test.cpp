// Hostile HTTP clients against the real host, while a normal client keeps sending frames: the host stays
// up, the normal client loses nothing, and the hostile one gets the documented answer (issue 10).
#include "host_process.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <sys/resource.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

namespace ava::test {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

std::string small_jpeg()
{
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(0)), bytes);
    return {bytes.begin(), bytes.end()};
}

// Posts a frame every few milliseconds on its own keep-alive-less requests until stopped; counts answers.
class NormalClient {
public:
    explicit NormalClient(std::uint16_t port, Headers headers = {})
        : thread_([this, port, headers = std::move(headers), jpeg = small_jpeg()] {
              while (!stop_) {
                  const auto reply = http_post(port, "/score", "image/jpeg", jpeg, headers);
                  (reply.status == 200 ? ok_ : failed_)++;
                  if (reply.status != 200 && last_failure_.empty()) {
                      last_failure_ = std::to_string(reply.status) + " " + reply.body;
                  }
                  std::this_thread::sleep_for(10ms);
              }
          })
    {
    }
    NormalClient(const NormalClient&) = delete;
    NormalClient& operator=(const NormalClient&) = delete;
    ~NormalClient() { finish(); }

    void finish()
    {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    int ok() const { return ok_; }
    int failed() const { return failed_; }
    const std::string& last_failure() const { return last_failure_; }

private:
    std::atomic<bool> stop_{false};
    std::atomic<int> ok_{0};
    std::atomic<int> failed_{0};
    std::string last_failure_;
    std::thread thread_;
};

void expect_served_throughout(NormalClient& normal)
{
    normal.finish();
    EXPECT_GT(normal.ok(), 0);
    EXPECT_EQ(normal.failed(), 0) << normal.last_failure();
}

tcp::socket connect_to(net::io_context& io, std::uint16_t port)
{
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    return socket;
}

// Whether `received` holds a whole response (status line, header, and Content-Length bytes of body).
bool complete_response(const std::string& received)
{
    const auto end = received.find("\r\n\r\n");
    if (end == std::string::npos) {
        return false;
    }
    const auto length_at = received.find("Content-Length: ");
    const std::size_t length = length_at < end ? std::stoul(received.substr(length_at + 16)) : 0;
    return received.size() >= end + 4 + length;
}

// What the server sends within `wait`: until it closes, the wait passes, or one whole response is in.
std::string read_for(tcp::socket& socket, std::chrono::milliseconds wait)
{
    std::string received;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    socket.non_blocking(true);
    char chunk[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        boost::system::error_code ec;
        const auto n = socket.read_some(net::buffer(chunk), ec);
        received.append(chunk, n);
        if (complete_response(received)) {
            break;
        }
        if (ec == net::error::would_block) {
            std::this_thread::sleep_for(5ms);
        } else if (ec) {
            break;
        }
    }
    socket.non_blocking(false);
    return received;
}

bool closed_by_server(tcp::socket& socket, std::chrono::milliseconds wait)
{
    const auto deadline = std::chrono::steady_clock::now() + wait;
    socket.non_blocking(true);
    char byte;
    while (std::chrono::steady_clock::now() < deadline) {
        boost::system::error_code ec;
        socket.read_some(net::buffer(&byte, 1), ec);
        if (ec == net::error::would_block) {
            std::this_thread::sleep_for(5ms);
            continue;
        }
        return ec == net::error::eof || ec == net::error::connection_reset;
    }
    return false;
}

// utime + stime of a process, in seconds.
double cpu_seconds(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    unsigned long utime = 0;
    unsigned long stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) {
            utime = std::stoul(field);
        } else if (i == 15) {
            stime = std::stoul(field);
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t count_of(const std::string& text, const std::string& part)
{
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++n;
    }
    return n;
}

// Item 1: a chunked body whose trailer holds one field over 64 KiB made Beast throw out of the I/O loop.
TEST(HttpHardening, OversizedChunkedTrailerEndsOnlyItsConnection)
{
    HostProcess host({"--no-grpc", "--username", "u", "--password", "p"});
    NormalClient normal(host.http_port(), {{"Authorization", "Basic dTpw"}}); // u:p
    for (int i = 0; i < 3; ++i) {
        const std::string hostile = "POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\nX: " +
                                    std::string(70000, 'a') + "\r\n\r\n";
        const auto answer = raw_exchange(host.http_port(), hostile, 3s);
        EXPECT_TRUE(answer.empty() || answer.rfind("HTTP/1.1 400", 0) == 0) << answer.substr(0, 200);
        ASSERT_TRUE(host.running()) << host.log();
    }
    std::this_thread::sleep_for(300ms);
    expect_served_throughout(normal);
    EXPECT_EQ(http_request(host.http_port(), "GET", "/healthz").status, 200);
}

// Item 5: out of file descriptors, accept() fails at once; the host must back off, not spin and log.
TEST(HttpHardening, OutOfDescriptorsBacksOffInsteadOfSpinning)
{
    HostProcess host({"--no-grpc", "--max-connections", "100000"});
    const rlimit tight{128, 128};
    ASSERT_EQ(::prlimit(host.pid(), RLIMIT_NOFILE, &tight, nullptr), 0) << std::strerror(errno);
    net::io_context io;
    std::vector<tcp::socket> idle;
    for (int i = 0; i < 200; ++i) {
        idle.push_back(connect_to(io, host.http_port())); // the kernel completes them into the backlog
    }
    const double cpu_before = cpu_seconds(host.pid());
    std::this_thread::sleep_for(2s);
    const double cpu_spent = cpu_seconds(host.pid()) - cpu_before;
    EXPECT_LT(cpu_spent, 0.5) << "the host burnt CPU while out of descriptors";
    const auto log = host.log();
    EXPECT_LT(count_of(log, "HTTP accept failed"), 5u) << log.substr(0, 2000);
    EXPECT_NE(log.find("open-file limit"), std::string::npos) << log.substr(0, 2000);
    // Idle connections are closed to make room: a real request is still answered.
    const auto reply = http_request(host.http_port(), "GET", "/healthz");
    EXPECT_EQ(reply.status, 200);
    ASSERT_TRUE(host.running()) << host.log();
}

// Item 5: beyond http.maxConnections the oldest idle connection is closed for the newcomer.
TEST(HttpHardening, ConnectionCapClosesTheOldestIdleConnection)
{
    HostProcess host({"--no-grpc", "--max-connections", "8"});
    net::io_context io;
    std::vector<tcp::socket> idle;
    for (int i = 0; i < 8; ++i) {
        idle.push_back(connect_to(io, host.http_port()));
        std::this_thread::sleep_for(20ms); // accepted in this order
    }
    std::this_thread::sleep_for(200ms);
    NormalClient normal(host.http_port());
    std::this_thread::sleep_for(500ms);
    expect_served_throughout(normal);
    EXPECT_TRUE(closed_by_server(idle.front(), 2s)) << "the oldest idle connection should have been closed";
    ASSERT_TRUE(host.running()) << host.log();
}

// Item 7: bodies are reserved in the host-wide budget before they are read.
TEST(HttpHardening, FrameBytesOverTheBudgetAre503WithRetryAfter)
{
    HostProcess host({"--no-grpc", "--max-frame-bytes-in-flight", std::to_string(20 << 20), "--max-body-bytes",
                      std::to_string(8 << 20)});
    net::io_context io;
    std::vector<tcp::socket> holders;
    const std::string big_header = "POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                                   std::to_string(8 << 20) + "\r\n\r\n";
    for (int i = 0; i < 2; ++i) { // 16 MiB of the 20 reserved, bodies never completed
        holders.push_back(connect_to(io, host.http_port()));
        net::write(holders.back(), net::buffer(big_header + "abc"));
    }
    std::this_thread::sleep_for(300ms);
    auto third = connect_to(io, host.http_port());
    net::write(third, net::buffer(big_header));
    const auto answer = read_for(third, 3s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer.substr(0, 300);
    EXPECT_NE(answer.find("Retry-After: "), std::string::npos) << answer.substr(0, 300);
    EXPECT_NE(answer.find("frame bytes in flight"), std::string::npos) << answer.substr(0, 300);
    // Small frames still fit in what is left.
    NormalClient normal(host.http_port());
    std::this_thread::sleep_for(300ms);
    expect_served_throughout(normal);
    ASSERT_TRUE(host.running()) << host.log();
}

// Item 8: `Expect: 100-continue` is answered at once, with 100 Continue when the request is acceptable and
// with the refusal when it is not (curl otherwise stalls a second per request).
TEST(HttpHardening, ExpectContinueIsAnsweredAtOnce)
{
    HostProcess host({"--no-grpc", "--bearer-token", "secret"});
    const auto jpeg = small_jpeg();
    net::io_context io;
    {
        auto socket = connect_to(io, host.http_port());
        net::write(socket, net::buffer("POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n"
                                       "Content-Type: image/jpeg\r\nExpect: 100-continue\r\nContent-Length: " +
                                       std::to_string(jpeg.size()) + "\r\n\r\n"));
        const auto interim = read_for(socket, 3s);
        EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
        net::write(socket, net::buffer(jpeg));
        const auto final_answer = read_for(socket, 3s);
        EXPECT_EQ(final_answer.rfind("HTTP/1.1 200", 0), 0u) << final_answer.substr(0, 300);
    }
    {
        auto socket = connect_to(io, host.http_port());
        net::write(socket, net::buffer("POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                                       "Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n"));
        const auto refusal = read_for(socket, 3s);
        EXPECT_EQ(refusal.rfind("HTTP/1.1 401", 0), 0u) << refusal;
    }
    {
        auto socket = connect_to(io, host.http_port());
        net::write(socket, net::buffer("POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n"
                                       "Content-Type: text/plain\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"));
        const auto refusal = read_for(socket, 3s);
        EXPECT_EQ(refusal.rfind("HTTP/1.1 400", 0), 0u) << refusal;
        EXPECT_NE(refusal.find("unsupported Content-Type"), std::string::npos) << refusal;
    }
    ASSERT_TRUE(host.running()) << host.log();
}

// Item 8: client input is never echoed at length in an answer.
TEST(HttpHardening, LongClientInputIsQuotedShort)
{
    HostProcess host({"--no-grpc"});
    const auto reply = http_post(host.http_port(), "/" + std::string(20000, 'x'), "image/jpeg", small_jpeg());
    EXPECT_EQ(reply.status, 404);
    EXPECT_LT(reply.body.size(), 1500u) << reply.body.substr(0, 300);
    EXPECT_NE(reply.body.find("(20001 bytes)"), std::string::npos) << reply.body.substr(0, 500);
}

} // namespace
} // namespace ava::test
