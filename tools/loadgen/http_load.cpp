#include "http_load.h"

#include "basic_auth.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <rapidjson/document.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

namespace ava::loadgen {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// The body refers to the shared payload: no copy per connection or per request.
using Request = http::request<http::span_body<const std::uint8_t>>;
using Response = http::response<http::string_body>;

constexpr std::string_view request_id_header = "x-ms-client-request-id";

// A 200 must carry {"inferences":[...]} (the protocol answers 204 when there is nothing).
bool is_inference_document(const std::string& body)
{
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject()) {
        return false;
    }
    const auto it = doc.FindMember("inferences");
    return it != doc.MemberEnd() && it->value.IsArray() && !it->value.Empty();
}

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
public:
    HttpConnection(net::io_context& io, const LoadOptions& options, const FramePayload& payload, const RunPlan& plan,
                   unsigned index, RunStats& stats)
        : stream_(net::make_strand(io)), pacing_(stream_.get_executor()), options_(options), plan_(plan),
          index_(index), stats_(stats), frame_bytes_(payload.bytes.size())
    {
        request_.method(http::verb::post);
        request_.target(options.path);
        request_.version(11);
        request_.set(http::field::host, options.host);
        request_.set(http::field::content_type, payload.content_type);
        request_.set(http::field::accept, "application/json");
        request_.set(http::field::user_agent, "Azure Media Services");
        if (!options.username.empty()) {
            request_.set(http::field::authorization, basic_credentials(options.username, options.password));
        }
        request_.keep_alive(true);
        request_.body() = payload.view();
        request_.prepare_payload();
    }

    void start(const tcp::resolver::results_type& endpoints)
    {
        stream_.expires_after(plan_.timeout);
        stream_.async_connect(endpoints, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
            if (ec) {
                return self->stats_.error("connect", ec.message());
            }
            self->stream_.socket().set_option(tcp::no_delay(true), ec);
            self->next_due_ = Clock::now();
            self->send();
        });
    }

private:
    bool done_sending() const
    {
        return (plan_.stop_at && Clock::now() >= *plan_.stop_at) ||
               (plan_.frames_per_stream != 0 && stats_.frames_sent >= plan_.frames_per_stream);
    }

    void send()
    {
        if (done_sending()) {
            return close();
        }
        const auto now = Clock::now();
        if (plan_.frame_period.count() > 0 && now < next_due_) {
            pacing_.expires_at(next_due_);
            pacing_.async_wait([self = shared_from_this()](beast::error_code) { self->send(); });
            return;
        }
        next_due_ = std::max(next_due_ + plan_.frame_period, now);
        request_id_ = "lg-" + std::to_string(index_) + "-" + std::to_string(stats_.frames_sent + 1);
        request_.set(request_id_header, request_id_);
        ++stats_.frames_sent;
        sent_ = Clock::now();
        stream_.expires_after(plan_.timeout);
        http::async_write(stream_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                return self->lost(ec);
            }
            self->receive();
        });
    }

    void receive()
    {
        response_ = {};
        http::async_read(stream_, buffer_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                return self->lost(ec);
            }
            self->check_response();
        });
    }

    void check_response()
    {
        const auto now = Clock::now();
        const int status = static_cast<int>(response_.result_int());
        const auto& expected = options_.expect_status;
        if (std::find(expected.begin(), expected.end(), status) == expected.end()) {
            stats_.error("http_" + std::to_string(status), response_.body().substr(0, 300));
            return close();
        }
        if (response_[request_id_header] != request_id_) {
            stats_.error("request_id_mismatch", "sent " + request_id_ + ", answer echoes '" +
                                                    std::string(response_[request_id_header]) + "'");
            return close();
        }
        if (status == 200 && !is_inference_document(response_.body())) {
            stats_.error("bad_body", "200 without {\"inferences\":[...]}: " + response_.body().substr(0, 300));
            return close();
        }
        stats_.acked(sent_, now, frame_bytes_, plan_.window);
        if (!response_.keep_alive()) {
            stats_.error("closed", "the server closed a keep-alive connection");
            return close();
        }
        send();
    }

    void lost(beast::error_code ec)
    {
        stats_.error(ec == beast::error::timeout ? "timeout" : "transport", ec.message());
        stats_.error("lost", "request " + request_id_ + " got no answer");
        close();
    }

    void close()
    {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    beast::tcp_stream stream_;
    net::steady_timer pacing_;
    const LoadOptions& options_;
    const RunPlan& plan_;
    unsigned index_;
    RunStats& stats_; // this connection's own: no other thread touches it until the run ends
    std::uint64_t frame_bytes_;
    Request request_;
    Response response_;
    beast::flat_buffer buffer_;
    std::string request_id_;
    Clock::time_point sent_;
    Clock::time_point next_due_;
};

} // namespace

RunStats run_http_load(const LoadOptions& options, const FramePayload& payload, const RunPlan& plan)
{
    net::io_context io;
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(options.host, std::to_string(options.port));
    std::vector<RunStats> stats(options.streams);
    for (unsigned i = 0; i < options.streams; ++i) {
        stats[i].progress = plan.progress;
        std::make_shared<HttpConnection>(io, options, payload, plan, i, stats[i])->start(endpoints);
    }
    const unsigned threads =
        options.io_threads != 0 ? options.io_threads : std::min(2U, std::max(1U, std::thread::hardware_concurrency()));
    std::vector<std::jthread> pool;
    for (unsigned i = 1; i < threads; ++i) {
        pool.emplace_back([&io] { io.run(); });
    }
    io.run();
    pool.clear(); // joins

    RunStats total;
    for (unsigned i = 0; i < options.streams; ++i) {
        total.merge_stream(i, stats[i]); // connection i sends request ids lg-i-<n>
    }
    return total;
}

} // namespace ava::loadgen
