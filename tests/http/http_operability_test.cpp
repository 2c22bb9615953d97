// What an operator relies on, through the real host: readiness that follows the analyzers the
// configuration needs, admin endpoints closed to other machines without credentials, and flags refused
// with a usage error (issue 14, in part).
#include "host_process.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <ifaddrs.h>
#include <netinet/in.h>

#include <fstream>
#include <optional>
#include <thread>

namespace ava::test {
namespace {

using namespace std::chrono_literals;

TEST(HttpReadiness, ReadyzFollowsTheAnalyzersTheConfigurationNames)
{
    TempDir plugins;
    copy_plugins(plugins.path());
    TempDir config_dir;
    const auto config = config_dir.path() / "config.json";
    std::ofstream(config) << R"({"routes": [{"analyzer": "motion", "httpPath": "/watch"}]})";
    HostProcess host({"--config", config.string()}, plugins.path());
    const auto port = host.http_port();
    auto ready = http_request(port, "GET", "/readyz");
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_NE(ready.body.find(R"("ready":true)"), std::string::npos) << ready.body;

    const auto motion = plugins.path() / "libmotion.so";
    const auto kept = config_dir.path() / "libmotion.so";
    std::filesystem::rename(motion, kept);
    EXPECT_TRUE(eventually([&] { return http_request(port, "GET", "/readyz").status == 503; })) << host.log();
    ready = http_request(port, "GET", "/readyz");
    EXPECT_NE(ready.body.find("analyzer 'motion' named by the configuration is not loaded"), std::string::npos)
        << ready.body;
    EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200); // alive all along

    std::filesystem::copy_file(kept, motion);
    EXPECT_TRUE(eventually([&] { return http_request(port, "GET", "/readyz").status == 200; })) << host.log();
}

// An IPv4 address of this machine that is not loopback, if it has one.
std::optional<std::string> outside_address()
{
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return std::nullopt;
    }
    std::optional<std::string> found;
    for (auto* a = list; a != nullptr && !found; a = a->ifa_next) {
        if (a->ifa_addr != nullptr && a->ifa_addr->sa_family == AF_INET) {
            const auto address = boost::asio::ip::address_v4(
                ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr));
            if (!address.is_loopback()) {
                found = address.to_string();
            }
        }
    }
    ::freeifaddrs(list);
    return found;
}

std::string post_from(const std::string& address, std::uint16_t port, const std::string& target)
{
    namespace net = boost::asio;
    net::io_context io;
    net::ip::tcp::socket socket(io);
    socket.connect(net::ip::tcp::endpoint(net::ip::make_address(address), port));
    net::write(socket, net::buffer("POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
    std::string received;
    char chunk[4096];
    boost::system::error_code ec;
    while (!ec) {
        const auto n = socket.read_some(net::buffer(chunk), ec);
        received.append(chunk, n);
    }
    return received;
}

TEST(HttpAdmin, AdminEndpointsNeedCredentialsOrLoopback)
{
    const auto outside = outside_address();
    if (!outside) {
        GTEST_SKIP() << "this machine has no non-loopback IPv4 address to connect from";
    }
    HostProcess open_host({"--no-grpc"});
    const auto refused = post_from(*outside, open_host.http_port(), "/admin/reload");
    EXPECT_EQ(refused.rfind("HTTP/1.1 403", 0), 0u) << refused;
    EXPECT_NE(refused.find("credentials"), std::string::npos) << refused;
    const auto local = post_from("127.0.0.1", open_host.http_port(), "/admin/reload");
    EXPECT_EQ(local.rfind("HTTP/1.1 200", 0), 0u) << local;
    // Analysis stays open to the network, as before.
    const auto analysis = post_from(*outside, open_host.http_port(), "/score");
    EXPECT_EQ(analysis.rfind("HTTP/1.1 400", 0), 0u) << analysis; // no image: refused for that, not the origin

    // With credentials configured, other machines may use the admin endpoints with them.
    HostProcess guarded({"--no-grpc", "--bearer-token", "t0k"});
    const auto without = post_from(*outside, guarded.http_port(), "/admin/reload");
    EXPECT_EQ(without.rfind("HTTP/1.1 401", 0), 0u) << without;
}

TEST(HostFlags, BadFlagValuesAreUsageErrors)
{
    for (const auto& [flag, value, message] :
         {std::tuple{"--log-level", "loud", "is not one of trace"}, std::tuple{"--workers", "-1", "out of range"},
          std::tuple{"--max-connections", "0", "out of range"}}) {
        const auto [code, output] = run_host_command({flag, value});
        EXPECT_EQ(code, 2) << flag << " " << value << ": " << output;
        EXPECT_NE(output.find(message), std::string::npos) << output;
    }
    const auto [code, output] = run_host_command({"--no-such-flag"});
    EXPECT_EQ(code, 2) << output;
}

} // namespace
} // namespace ava::test
