#include "health_check.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <optional>
#include <regex>

namespace ava::runtime {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

struct Url {
    bool tls = false;
    std::string host;
    std::string port;
    std::string target;
};

std::optional<Url> parse_url(const std::string& text)
{
    // scheme://host[:port][/path]; host may be a bracketed IPv6 literal.
    static const std::regex pattern(R"(^(https?)://(\[[^\]]+\]|[^/:]+)(?::([0-9]{1,5}))?(/.*)?$)");
    std::smatch m;
    if (!std::regex_match(text, m, pattern)) {
        return std::nullopt;
    }
    Url url;
    url.tls = m[1] == "https";
    url.host = m[2];
    if (url.host.front() == '[') {
        url.host = url.host.substr(1, url.host.size() - 2);
    }
    url.port = m[3].matched ? m[3].str() : (url.tls ? "443" : "80");
    url.target = m[4].matched ? m[4].str() : "/";
    return url;
}

template <typename Stream>
int exchange(asio::io_context& io, Stream& stream, const Url& url, std::chrono::milliseconds timeout,
             std::string& report)
{
    http::request<http::empty_body> request{http::verb::get, url.target, 11};
    request.set(http::field::host, url.host);
    request.set(http::field::user_agent, "ava-extension-host-health-check");
    request.set(http::field::connection, "close");
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    beast::error_code failure;
    bool done = false;
    http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
        if (ec) {
            failure = ec;
            done = true;
            return;
        }
        http::async_read(stream, buffer, response, [&](beast::error_code read_ec, std::size_t) {
            failure = read_ec;
            done = true;
        });
    });
    io.restart();
    io.run_for(timeout);
    if (!done) {
        report = "no answer within " + std::to_string(timeout.count()) + " ms";
        return 1;
    }
    if (failure) {
        report = "failed: " + failure.message();
        return 1;
    }
    report = std::to_string(response.result_int()) + " " + std::string(response.reason());
    return response.result() == http::status::ok ? 0 : 1;
}

} // namespace

int health_check(const std::string& text, std::string& report, std::chrono::milliseconds timeout)
{
    const auto url = parse_url(text);
    if (!url) {
        report = "not an http:// or https:// URL: " + text;
        return 1;
    }
    try {
        asio::io_context io;
        asio::ip::tcp::resolver resolver(io);
        asio::ip::tcp::socket socket(io);
        beast::error_code failure = asio::error::timed_out;
        resolver.async_resolve(url->host, url->port, [&](beast::error_code ec, asio::ip::tcp::resolver::results_type r) {
            if (ec) {
                failure = ec;
                return;
            }
            asio::async_connect(socket, r, [&](beast::error_code connect_ec, const asio::ip::tcp::endpoint&) {
                failure = connect_ec;
            });
        });
        io.run_for(timeout);
        if (failure) {
            report = "cannot connect to " + url->host + ":" + url->port + ": " + failure.message();
            return 1;
        }
        if (!url->tls) {
            return exchange(io, socket, *url, timeout, report);
        }
        asio::ssl::context context(asio::ssl::context::tls_client);
        context.set_verify_mode(asio::ssl::verify_none);
        asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), context);
        if (!SSL_set_tlsext_host_name(stream.native_handle(), url->host.c_str())) {
            report = "cannot set the TLS server name";
            return 1;
        }
        failure = asio::error::timed_out;
        stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code ec) { failure = ec; });
        io.restart();
        io.run_for(timeout);
        if (failure) {
            report = "TLS handshake failed: " + failure.message();
            return 1;
        }
        return exchange(io, stream, *url, timeout, report);
    } catch (const std::exception& e) {
        report = std::string("failed: ") + e.what();
        return 1;
    }
}

} // namespace ava::runtime
