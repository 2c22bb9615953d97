#include "http_server.h"

#include "runtime/log_context.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <array>

namespace ava::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

template <typename Stream>
constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

// One connection: read a request, answer it, repeat while keep-alive. All socket work stays on the
// connection's strand; analysis is posted to the workers and its response posted back.
// The header is read first: the request's bytes are reserved in the host's memory budget before its body
// is read (503 when there is no room), and `Expect: 100-continue` is answered only for a request we accept.
template <typename Stream>
class HttpSession : public HttpServer::Connection, public std::enable_shared_from_this<HttpSession<Stream>> {
public:
    template <typename... StreamArgs>
    HttpSession(const RequestHandler& handler, runtime::FrameWorkers& workers, HttpServer::Limits limits,
                std::shared_ptr<HttpServer::Connections> connections, std::shared_ptr<RequestLog> log,
                StreamArgs&&... stream_args)
        : stream_(std::forward<StreamArgs>(stream_args)...), request_timer_(stream_.get_executor()),
          handler_(handler), workers_(workers), limits_(limits), connections_(std::move(connections)),
          log_(std::move(log))
    {
        beast::error_code ec;
        const auto remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
        peer_ = ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
        from_loopback_ = !ec && (remote.address().is_loopback() ||
                                 (remote.address().is_v6() && remote.address().to_v6().is_v4_mapped() &&
                                  remote.address().to_v6().to_v4().is_loopback()));
    }
    ~HttpSession() override
    {
        if (registered_) {
            connections_->remove(handle_);
        }
    }

    void run()
    {
        handle_ = connections_->add(this->weak_from_this());
        registered_ = true;
        net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->start(); });
    }

    bool idle() const noexcept override { return idle_.load(std::memory_order_relaxed); }

    void close_from_outside() override
    {
        net::post(stream_.get_executor(), [self = this->shared_from_this()] {
            if (!self->idle()) {
                return; // a request started meanwhile: let it finish
            }
            self->evicted_ = true;
            self->request_timer_.cancel();
            beast::error_code ignored;
            beast::get_lowest_layer(self->stream_).socket().close(ignored);
        });
    }

private:
    // Beast throws from inside a read for some inputs (a chunked trailer field over 64 KiB: std::length_error
    // from basic_fields). The exception leaves through the I/O loop, which survives it (runtime/host.cpp), and
    // destroys the read's handler unrun: this guard, riding in that handler, then closes the connection at
    // once instead of leaving it open, half-read, until the request timer fires.
    class AbandonGuard {
    public:
        explicit AbandonGuard(std::shared_ptr<HttpSession> session) : session_(std::move(session)) {}
        AbandonGuard(AbandonGuard&&) noexcept = default;
        AbandonGuard& operator=(AbandonGuard&&) noexcept = default;
        AbandonGuard(const AbandonGuard&) = delete;
        AbandonGuard& operator=(const AbandonGuard&) = delete;
        ~AbandonGuard()
        {
            if (session_) {
                session_->abandon();
            }
        }
        void disarm() noexcept { session_.reset(); }

    private:
        std::shared_ptr<HttpSession> session_;
    };

    void abandon() noexcept
    {
        reservation_.reset();
        beast::error_code ignored;
        request_timer_.cancel();
        beast::get_lowest_layer(stream_).socket().close(ignored);
    }

    void start()
    {
        if constexpr (is_tls<Stream>) {
            beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
            stream_.async_handshake(net::ssl::stream_base::server,
                                    [self = this->shared_from_this()](beast::error_code ec) {
                                        if (ec) {
                                            spdlog::debug("TLS handshake failed: {}", ec.message());
                                            return;
                                        }
                                        self->read();
                                    });
        } else {
            read();
        }
    }

    void read()
    {
        reservation_.reset();
        parser_.emplace();
        parser_->body_limit(limits_.max_body_bytes);
        // Beast stores a field in at most 64 KiB and throws beyond it; this limit keeps every field, in the
        // header or in a chunked body's trailer, well below that.
        parser_->header_limit(max_header_bytes);
        // Our own timer rather than the stream's expiry: an expired tcp_stream closes the socket, and a
        // request whose body never completes still deserves a 400 saying so.
        beast::get_lowest_layer(stream_).expires_never();
        timed_out_ = false;
        idle_ = buffer_.size() == 0;
        request_timer_.expires_after(limits_.request_timeout);
        request_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (!ec) {
                self->timed_out_ = true;
                beast::error_code ignored;
                beast::get_lowest_layer(self->stream_).socket().cancel(ignored);
            }
        });
        beast::http::async_read_header(
            stream_, buffer_, *parser_,
            [self = this->shared_from_this(), guard = AbandonGuard(this->shared_from_this())](
                beast::error_code ec, std::size_t) mutable {
                guard.disarm();
                self->on_header(self->timed_out_ && ec ? beast::error::timeout : ec);
            });
    }

    void on_header(beast::error_code ec)
    {
        idle_ = false;
        current_ = {};
        if (ec) {
            request_timer_.cancel();
            return on_error(ec);
        }
        const auto& header = parser_->get();
        if (auto refused = handler_.check_origin(header, from_loopback_)) {
            request_timer_.cancel();
            return refuse(std::move(*refused));
        }
        current_.started = std::chrono::steady_clock::now();
        current_.method = header.method_string();
        current_.target = header.target();
        current_.request_id = header["x-ms-client-request-id"];
        // Room for the body in the host's budget, before any of it is read: many clients each sending a big
        // body must not add up to more memory than the host has.
        const std::size_t body_bytes = parser_->content_length() ? static_cast<std::size_t>(*parser_->content_length())
                                       : parser_->chunked()      ? limits_.max_body_bytes
                                                                 : 0;
        if (body_bytes != 0) {
            reservation_ = workers_.memory().try_reserve(body_bytes);
            if (!reservation_) {
                request_timer_.cancel();
                handler_.count_refused();
                return refuse(RequestHandler::error(header, beast::http::status::service_unavailable,
                                                    "server busy: too many frame bytes in flight, retry later"));
            }
        }
        if (beast::iequals(header[beast::http::field::expect], "100-continue")) {
            if (auto refused = handler_.check_header(header)) {
                request_timer_.cancel();
                return refuse(std::move(*refused)); // the client sends no body: the answer comes instead
            }
            auto go_on = std::make_shared<beast::http::response<beast::http::empty_body>>(
                beast::http::status::continue_, header.version());
            return beast::http::async_write(stream_, *go_on,
                                            [self = this->shared_from_this(), go_on](beast::error_code write_ec, std::size_t) {
                                                if (write_ec) {
                                                    self->request_timer_.cancel();
                                                    return self->close();
                                                }
                                                self->read_body();
                                            });
        }
        read_body();
    }

    void read_body()
    {
        beast::http::async_read(stream_, buffer_, *parser_,
                                [self = this->shared_from_this(), guard = AbandonGuard(this->shared_from_this())](
                                    beast::error_code ec, std::size_t) mutable {
                                    guard.disarm();
                                    self->request_timer_.cancel();
                                    self->on_read(self->timed_out_ && ec ? beast::error::timeout : ec);
                                });
    }

    void on_read(beast::error_code ec)
    {
        if (ec) {
            return on_error(ec);
        }
        auto request = std::make_shared<Request>(parser_->release());
        current_.body_bytes = request->body().size();
        if (auto stream = handler_.view_of(*request)) {
            return start_view(std::move(stream));
        }
        if (auto response = handler_.answer_directly(*request)) {
            return write(std::move(*response));
        }
        auto ticket = workers_.try_admit();
        if (!ticket) {
            handler_.count_refused();
            return write(RequestHandler::error(*request, beast::http::status::service_unavailable,
                                               "server busy: too many frames in flight, retry later"));
        }
        workers_.post([self = this->shared_from_this(), request, ticket = std::move(*ticket),
                       received = std::chrono::steady_clock::now()]() mutable {
            const runtime::LogScope scope({.request_id = self->current_.request_id, .peer = self->peer_});
            auto response = self->handler_.analyze(*request, received);
            { auto release = std::move(ticket); } // the frame is done: free the slot before the write
            net::post(self->stream_.get_executor(),
                      [self, response = std::move(response)]() mutable { self->write(std::move(response)); });
        });
    }

    // GET /streams/<id>/view: one multipart/x-mixed-replace response that lasts until the client leaves or
    // the stream ends, a part per new picture. The Viewer held meanwhile is what makes the frame path draw.
    void start_view(std::shared_ptr<live::LiveStream> stream)
    {
        log_->record({.method = current_.method, .target = current_.target, .request_id = current_.request_id,
                      .peer = peer_, .status = 200, .body_bytes = 0, .took = std::chrono::steady_clock::duration{}});
        viewer_.emplace(std::move(stream));
        auto head = std::make_shared<std::string>(
            "HTTP/1.1 200 OK\r\nServer: ava-extension-host\r\nContent-Type: multipart/x-mixed-replace; boundary=" +
            std::string(view_boundary) + "\r\nCache-Control: no-cache, no-store\r\nConnection: close\r\n\r\n");
        // A read that ends only when the client goes away: how a silent view notices it.
        stream_.async_read_some(net::buffer(drain_buffer_), [self = this->shared_from_this()](beast::error_code, std::size_t) {
            self->view_gone_ = true;
            self->request_timer_.cancel();
        });
        net::async_write(stream_, net::buffer(*head), [self = this->shared_from_this(), head](beast::error_code ec, std::size_t) {
            if (ec) {
                return self->end_view();
            }
            self->next_view_part();
        });
    }

    void next_view_part()
    {
        if (view_gone_) {
            return end_view();
        }
        const auto picture = viewer_->stream().picture();
        if (picture.sequence == view_sequence_ || !picture.jpeg) {
            if (viewer_->stream().ended()) {
                return end_view();
            }
            request_timer_.expires_after(std::chrono::milliseconds(50));
            request_timer_.async_wait([self = this->shared_from_this()](beast::error_code) { self->next_view_part(); });
            return;
        }
        view_sequence_ = picture.sequence;
        auto part = std::make_shared<std::string>("--" + std::string(view_boundary) +
                                                  "\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                                                  std::to_string(picture.jpeg->size()) + "\r\n\r\n");
        auto jpeg = picture.jpeg;
        const std::array<net::const_buffer, 3> buffers{net::buffer(*part), net::buffer(*jpeg), net::buffer("\r\n", 2)};
        net::async_write(stream_, buffers, [self = this->shared_from_this(), part, jpeg](beast::error_code ec, std::size_t) {
            if (ec) {
                return self->end_view();
            }
            self->next_view_part();
        });
    }

    void end_view()
    {
        viewer_.reset(); // nobody watches: the frame path stops drawing
        beast::error_code ignored;
        request_timer_.cancel();
        beast::get_lowest_layer(stream_).socket().close(ignored);
    }

    void on_error(beast::error_code ec)
    {
        if (evicted_ || ec == beast::http::error::end_of_stream || ec == net::error::connection_reset ||
            ec == net::error::eof) {
            return close();
        }
        reject_unreadable(ec);
    }

    // Answered before the body was read: the connection cannot be reused (the body may still be coming).
    void refuse(Response response)
    {
        response.keep_alive(false);
        write(std::move(response));
    }

    // A request we could not read completely still gets a clear answer when the socket allows one.
    void reject_unreadable(beast::error_code ec)
    {
        std::string message;
        if (ec == beast::http::error::body_limit) {
            message = "body exceeds the limit of " + std::to_string(limits_.max_body_bytes) + " bytes";
        } else if (ec == beast::http::error::header_limit) {
            message = "header (or chunked trailer) exceeds the limit of " + std::to_string(max_header_bytes) + " bytes";
        } else if (ec == beast::error::timeout && parser_->is_header_done()) {
            message = "body shorter than its Content-Length (timed out waiting for the rest)";
        } else if (ec == beast::error::timeout) {
            return close(); // idle keep-alive connection
        } else if (ec == beast::http::error::partial_message) {
            return close(); // peer went away mid-request: nobody to answer
        } else {
            message = "malformed HTTP request: " + ec.message();
        }
        spdlog::debug("HTTP request rejected: {}", message);
        Request blank;
        blank.version(11);
        refuse(RequestHandler::error(blank, beast::http::status::bad_request, message));
    }

    void write(Response response)
    {
        if (response.result() == beast::http::status::service_unavailable &&
            response.find(beast::http::field::retry_after) == response.end()) {
            response.set(beast::http::field::retry_after, std::to_string(limits_.retry_after_seconds));
        }
        log_->record({.method = current_.method.empty() ? std::string_view("-") : current_.method,
                      .target = current_.target.empty() ? std::string_view("-") : current_.target,
                      .request_id = current_.request_id,
                      .peer = peer_,
                      .status = response.result_int(),
                      .body_bytes = current_.body_bytes,
                      .took = current_.started == std::chrono::steady_clock::time_point{}
                                  ? std::chrono::steady_clock::duration{}
                                  : std::chrono::steady_clock::now() - current_.started});
        auto owned = std::make_shared<Response>(std::move(response));
        beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
        beast::http::async_write(stream_, *owned,
                                 [self = this->shared_from_this(), owned](beast::error_code ec, std::size_t) {
                                     self->reservation_.reset(); // the request and its answer are done
                                     if (ec || !owned->keep_alive()) {
                                         return self->close();
                                     }
                                     self->read();
                                 });
    }

    void close()
    {
        reservation_.reset();
        request_timer_.cancel();
        beast::error_code ignored;
        if constexpr (is_tls<Stream>) {
            beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
            stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
        } else {
            // Lingering close: stop sending, then drain what the peer still sends (e.g. the rest of an
            // over-limit body) so the kernel does not reset the connection and discard our response.
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            stream_.expires_after(std::chrono::seconds(2));
            drain();
        }
    }

    void drain()
    {
        stream_.async_read_some(net::buffer(drain_buffer_),
                                [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (!ec) {
                                        self->drain();
                                    }
                                });
    }

    static constexpr std::uint32_t max_header_bytes = 32 * 1024;
    static constexpr std::string_view view_boundary = "ava-frame";

    Stream stream_;
    net::steady_timer request_timer_;
    bool timed_out_ = false;
    bool evicted_ = false;
    std::atomic<bool> idle_{true};
    std::array<char, 16384> drain_buffer_{};
    beast::flat_buffer buffer_;
    std::optional<beast::http::request_parser<beast::http::vector_body<std::uint8_t>>> parser_;
    std::optional<runtime::MemoryBudget::Reservation> reservation_;
    const RequestHandler& handler_;
    runtime::FrameWorkers& workers_;
    HttpServer::Limits limits_;
    std::shared_ptr<HttpServer::Connections> connections_;
    std::shared_ptr<RequestLog> log_;
    std::string peer_;
    bool from_loopback_ = false;
    struct Current { // the request being answered, for its log line
        std::string method;
        std::string target;
        std::string request_id;
        std::size_t body_bytes = 0;
        std::chrono::steady_clock::time_point started{};
    } current_;
    HttpServer::Connections::Handle handle_{};
    bool registered_ = false;
    std::optional<live::LiveStream::Viewer> viewer_; // while serving a live view
    std::uint64_t view_sequence_ = 0;
    bool view_gone_ = false;
};

bool is_out_of_descriptors(const beast::error_code& ec)
{
    return ec == net::error::no_descriptors || ec == beast::error_code(ENFILE, beast::system_category()) ||
           ec == net::error::no_buffer_space || ec == net::error::no_memory;
}

} // namespace

HttpServer::Connections::Handle HttpServer::Connections::add(std::weak_ptr<Connection> connection)
{
    const std::scoped_lock lock(mutex_);
    return open_.insert(open_.end(), std::move(connection));
}

void HttpServer::Connections::remove(Handle handle)
{
    const std::scoped_lock lock(mutex_);
    open_.erase(handle);
}

std::size_t HttpServer::Connections::size() const
{
    const std::scoped_lock lock(mutex_);
    return open_.size();
}

bool HttpServer::Connections::close_oldest_idle()
{
    std::shared_ptr<Connection> oldest;
    {
        const std::scoped_lock lock(mutex_);
        for (const auto& weak : open_) {
            if (auto connection = weak.lock(); connection && connection->idle()) {
                oldest = std::move(connection);
                break;
            }
        }
    }
    if (!oldest) {
        return false;
    }
    oldest->close_from_outside(); // outside the lock: the last reference may be dropped here
    return true;
}

HttpServer::HttpServer(net::io_context& io, const runtime::HostOptions& options, const RequestHandler& handler,
                       runtime::FrameWorkers& workers)
    : io_(io), options_(options), handler_(handler), workers_(workers), acceptor_(net::make_strand(io)),
      limits_{options.max_body_bytes, options.request_timeout, options.retry_after_seconds},
      max_connections_(options.max_connections), connections_(std::make_shared<Connections>()),
      request_log_(std::make_shared<RequestLog>()),
      accept_retry_(acceptor_.get_executor())
{
    if (options.http_tls.enabled()) {
        tls_.emplace(net::ssl::context::tls_server);
        tls_->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                          net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
        tls_->use_certificate_chain_file(options.http_tls.certificate_chain.string());
        tls_->use_private_key_file(options.http_tls.private_key.string(), net::ssl::context::pem);
    }
}

std::uint16_t HttpServer::start()
{
    const tcp::endpoint endpoint(net::ip::make_address(options_.bind_address), options_.http_port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    beast::error_code ec;
    acceptor_.bind(endpoint, ec);
    if (ec) {
        throw std::runtime_error("cannot listen for HTTP on " + options_.bind_address + ":" +
                                 std::to_string(options_.http_port) + ": " + ec.message());
    }
    acceptor_.listen(net::socket_base::max_listen_connections);
    accept();
    return acceptor_.local_endpoint().port();
}

void HttpServer::stop()
{
    net::post(acceptor_.get_executor(), [this] {
        beast::error_code ignored;
        accept_retry_.cancel();
        acceptor_.close(ignored);
    });
}

void HttpServer::accept()
{
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted) {
            return;
        }
        if (ec) {
            return back_off_accepting(ec);
        }
        accepted(std::move(socket));
        accept();
    });
}

// Out of descriptors, accept fails at once for as long as the backlog is non-empty: retrying at once is a
// busy loop (and a log line per try). Wait a little, free a descriptor if an idle connection holds one,
// and say so at most once every few seconds.
void HttpServer::back_off_accepting(const boost::system::error_code& ec)
{
    const auto now = std::chrono::steady_clock::now();
    ++accept_failures_unlogged_;
    if (now - last_accept_warning_ >= std::chrono::seconds(5)) {
        spdlog::warn("HTTP accept failed {} time(s) since the last report: {}{}", accept_failures_unlogged_,
                     ec.message(),
                     is_out_of_descriptors(ec) ? " (raise the open-file limit or lower http.maxConnections)" : "");
        last_accept_warning_ = now;
        accept_failures_unlogged_ = 0;
    }
    if (!is_out_of_descriptors(ec)) {
        return accept(); // e.g. the peer reset before we accepted: nothing to wait for
    }
    connections_->close_oldest_idle();
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) {
            accept();
        }
    });
}

void HttpServer::accepted(tcp::socket socket)
{
    if (connections_->size() >= max_connections_ && !connections_->close_oldest_idle()) {
        // Every connection is busy with a request: the newcomer is the one that waits.
        const auto now = std::chrono::steady_clock::now();
        if (now - last_accept_warning_ >= std::chrono::seconds(5)) {
            spdlog::warn("HTTP: {} connections open (http.maxConnections), none idle: refusing new connections",
                         max_connections_);
            last_accept_warning_ = now;
        }
        beast::error_code ignored;
        socket.close(ignored);
        return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (tls_) {
        std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(handler_, workers_, limits_, connections_,
                                                                            request_log_, std::move(socket), *tls_)
            ->run();
    } else {
        std::make_shared<HttpSession<beast::tcp_stream>>(handler_, workers_, limits_, connections_, request_log_,
                                                         std::move(socket))
            ->run();
    }
}

} // namespace ava::http
