#include "http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
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
template <typename Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
public:
    template <typename... StreamArgs>
    HttpSession(const RequestHandler& handler, runtime::FrameWorkers& workers, HttpServer::Limits limits,
                StreamArgs&&... stream_args)
        : stream_(std::forward<StreamArgs>(stream_args)...), request_timer_(stream_.get_executor()),
          handler_(handler), workers_(workers), limits_(limits)
    {
    }

    void run()
    {
        net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->start(); });
    }

private:
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
        parser_.emplace();
        parser_->body_limit(limits_.max_body_bytes);
        parser_->header_limit(64 * 1024);
        // Our own timer rather than the stream's expiry: an expired tcp_stream closes the socket, and a
        // request whose body never completes still deserves a 400 saying so.
        beast::get_lowest_layer(stream_).expires_never();
        timed_out_ = false;
        request_timer_.expires_after(limits_.request_timeout);
        request_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (!ec) {
                self->timed_out_ = true;
                beast::error_code ignored;
                beast::get_lowest_layer(self->stream_).socket().cancel(ignored);
            }
        });
        beast::http::async_read(stream_, buffer_, *parser_,
                                [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                    self->request_timer_.cancel();
                                    self->on_read(self->timed_out_ && ec ? beast::error::timeout : ec);
                                });
    }

    void on_read(beast::error_code ec)
    {
        if (ec == beast::http::error::end_of_stream || ec == net::error::connection_reset || ec == net::error::eof) {
            return close();
        }
        if (ec) {
            return reject_unreadable(ec);
        }
        auto request = std::make_shared<Request>(parser_->release());
        if (auto response = handler_.answer_directly(*request)) {
            return write(std::move(*response));
        }
        auto ticket = workers_.try_admit();
        if (!ticket) {
            auto response = RequestHandler::error(*request, beast::http::status::service_unavailable,
                                                  "server busy: too many frames in flight, retry later");
            response.set(beast::http::field::retry_after, std::to_string(limits_.retry_after_seconds));
            return write(std::move(response));
        }
        workers_.post([self = this->shared_from_this(), request, ticket = std::move(*ticket)]() mutable {
            auto response = self->handler_.analyze(*request);
            { auto release = std::move(ticket); } // the frame is done: free the slot before the write
            net::post(self->stream_.get_executor(),
                      [self, response = std::move(response)]() mutable { self->write(std::move(response)); });
        });
    }

    // A request we could not read completely still gets a clear answer when the socket allows one.
    void reject_unreadable(beast::error_code ec)
    {
        std::string message;
        if (ec == beast::http::error::body_limit) {
            message = "body exceeds the limit of " + std::to_string(limits_.max_body_bytes) + " bytes";
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
        blank.keep_alive(false);
        auto response = RequestHandler::error(blank, beast::http::status::bad_request, message);
        response.keep_alive(false);
        write(std::move(response));
    }

    void write(Response response)
    {
        auto owned = std::make_shared<Response>(std::move(response));
        beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
        beast::http::async_write(stream_, *owned,
                                 [self = this->shared_from_this(), owned](beast::error_code ec, std::size_t) {
                                     if (ec || !owned->keep_alive()) {
                                         return self->close();
                                     }
                                     self->read();
                                 });
    }

    void close()
    {
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

    Stream stream_;
    net::steady_timer request_timer_;
    bool timed_out_ = false;
    std::array<char, 16384> drain_buffer_{};
    beast::flat_buffer buffer_;
    std::optional<beast::http::request_parser<beast::http::vector_body<std::uint8_t>>> parser_;
    const RequestHandler& handler_;
    runtime::FrameWorkers& workers_;
    HttpServer::Limits limits_;
};

} // namespace

HttpServer::HttpServer(net::io_context& io, const runtime::HostOptions& options, const RequestHandler& handler,
                       runtime::FrameWorkers& workers)
    : io_(io), options_(options), handler_(handler), workers_(workers), acceptor_(net::make_strand(io)),
      limits_{options.max_body_bytes, options.request_timeout, options.retry_after_seconds}
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
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
    accept();
    return acceptor_.local_endpoint().port();
}

void HttpServer::stop()
{
    net::post(acceptor_.get_executor(), [this] {
        beast::error_code ignored;
        acceptor_.close(ignored);
    });
}

void HttpServer::accept()
{
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted) {
            return;
        }
        if (!ec) {
            socket.set_option(tcp::no_delay(true), ec);
            if (tls_) {
                std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(handler_, workers_, limits_,
                                                                                    std::move(socket), *tls_)
                    ->run();
            } else {
                std::make_shared<HttpSession<beast::tcp_stream>>(handler_, workers_, limits_, std::move(socket))->run();
            }
        } else {
            spdlog::warn("HTTP accept failed: {}", ec.message());
        }
        accept();
    });
}

} // namespace ava::http
