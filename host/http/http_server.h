#pragma once
// HttpServer: the HTTP extension front-end's sockets. Boost.Beast, HTTP/1.1 keep-alive, optional TLS,
// async I/O on the host's io_context; decode and analysis run on FrameWorkers, never on I/O threads.

#include "request_handler.h"
#include "request_log.h"

#include "runtime/frame_workers.h"
#include "runtime/host_options.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
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
    std::size_t open_connections() const { return connections_->size(); }

    struct Limits {
        std::size_t max_body_bytes;
        std::chrono::milliseconds request_timeout;
        unsigned retry_after_seconds;
    };

    // What the server needs of a connection to keep the number open bounded.
    class Connection {
    public:
        virtual ~Connection() = default;
        // Idle: between requests, nothing of the next one received yet.
        virtual bool idle() const noexcept = 0;
        // Closes the connection on its own strand (callable from any thread).
        virtual void close_from_outside() = 0;
    };

    // Open connections, oldest first; each removes itself when destroyed.
    class Connections {
    public:
        using Handle = std::list<std::weak_ptr<Connection>>::iterator;
        Handle add(std::weak_ptr<Connection> connection);
        void remove(Handle handle);
        std::size_t size() const;
        // Asks the oldest idle connection to close; false when none is idle.
        bool close_oldest_idle();

    private:
        mutable std::mutex mutex_;
        std::list<std::weak_ptr<Connection>> open_;
    };

private:
    void accept();
    void accepted(boost::asio::ip::tcp::socket socket);
    void back_off_accepting(const boost::system::error_code& ec);

    boost::asio::io_context& io_;
    const runtime::HostOptions& options_;
    const RequestHandler& handler_;
    runtime::FrameWorkers& workers_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::optional<boost::asio::ssl::context> tls_;
    Limits limits_;
    std::size_t max_connections_;
    std::shared_ptr<Connections> connections_; // shared: sessions may outlive the server by a moment
    std::shared_ptr<RequestLog> request_log_;
    boost::asio::steady_timer accept_retry_;
    std::chrono::steady_clock::time_point last_accept_warning_{};
    std::uint64_t accept_failures_unlogged_ = 0;
};

} // namespace ava::http
