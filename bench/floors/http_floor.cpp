// http_floor: the bare HTTP transport floor for the benchmark. A minimal Boost.Beast keep-alive server
// that reads each request's whole body and answers 204 (echoing x-ms-client-request-id), with no
// routing, decode or analysis.
// Usage: http_floor [port] [threads]. Prints "port <n>" once serving.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class FloorSession : public std::enable_shared_from_this<FloorSession> {
public:
    explicit FloorSession(tcp::socket socket) : stream_(std::move(socket)) {}

    void read()
    {
        request_ = {};
        http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (!ec) {
                self->answer();
            }
        });
    }

private:
    void answer()
    {
        response_ = {http::status::no_content, request_.version()};
        response_.keep_alive(request_.keep_alive());
        // Echoed as the host does: the load generator matches every answer to its request by it.
        if (const auto id = request_.find("x-ms-client-request-id"); id != request_.end()) {
            response_.set("x-ms-client-request-id", id->value());
        }
        response_.prepare_payload();
        http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (!ec && self->response_.keep_alive()) {
                self->read();
            }
        });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::vector_body<std::uint8_t>> request_;
    http::response<http::empty_body> response_;
};

void accept(tcp::acceptor& acceptor, net::io_context& io)
{
    acceptor.async_accept(net::make_strand(io), [&acceptor, &io](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted) {
            return;
        }
        if (!ec) {
            socket.set_option(tcp::no_delay(true), ec);
            auto session = std::make_shared<FloorSession>(std::move(socket));
            session->read();
        }
        accept(acceptor, io);
    });
}

} // namespace

int main(int argc, char** argv)
{
    const auto port = static_cast<unsigned short>(argc > 1 ? std::stoi(argv[1]) : 0);
    const auto threads = argc > 2 ? std::stoul(argv[2]) : std::max(1U, std::thread::hardware_concurrency());
    net::io_context io;
    tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), port});
    std::cout << "port " << acceptor.local_endpoint().port() << std::endl;
    accept(acceptor, io);
    net::signal_set stop(io, SIGINT, SIGTERM);
    stop.async_wait([&io](beast::error_code, int) { io.stop(); });
    std::vector<std::jthread> pool;
    for (unsigned long i = 1; i < threads; ++i) {
        pool.emplace_back([&io] { io.run(); });
    }
    io.run();
    return 0;
}
