#pragma once
// HttpServer: the HTTP extension front-end's sockets. Boost.Beast, HTTP/1.1 keep-alive, optional TLS,
// async I/O on the host's io_context; decode and analysis run on FrameWorkers, never on I/O threads.

#include "request_handler.h"

#include "runtime/frame_workers.h"
#include "runtime/host_options.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <memory>
#include <optional>

namespace ava::http {

class HttpServer {
public:
    HttpServer(boost::asio::io_context& io, const runtime::HostOptions& options, const RequestHandler& handler,
               runtime::FrameWorkers& workers);

    // Binds and starts accepting; returns the bound port (useful with port 0). Throws on bind failure.
    std::uint16_t start();
    // Stops accepting new connections; open connections finish the request they are on.
    void stop();

    struct Limits {
        std::size_t max_body_bytes;
        std::chrono::milliseconds request_timeout;
        unsigned retry_after_seconds;
    };

private:
    void accept();

    boost::asio::io_context& io_;
    const runtime::HostOptions& options_;
    const RequestHandler& handler_;
    runtime::FrameWorkers& workers_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::optional<boost::asio::ssl::context> tls_;
    Limits limits_;
};

} // namespace ava::http
