#pragma once
// RequestHandler: the HTTP extension protocol, request in, response out, with no socket in sight.
//   POST <path>  image/jpeg|png|bmp|x-raw -> 200 {"inferences":[...]} | 204 | 400 | 404 | 500 | 503
//   A request naming its stream (?stream-id=, or the live pipeline) shares the stream's analyzer session
//   (stream_sessions.h); an empty POST naming its stream ends that session: 204.
//   GET /healthz -> 200 {"status":"ok"}                       (alive; no credentials needed)
//   GET /readyz  -> 200 | 503 {"ready":..., "reasons":[...]}   (front-ends bound, every configured
//                   route's analyzer loaded, not draining; no credentials needed)
// Admin endpoints (behind the same credentials as analysis, when credentials are configured):
//   GET /analyzers      -> analyzers (active and draining versions), routes, reload and refusal counters
//   GET /metrics        -> Prometheus text format (metrics/metrics.h)
//   GET /streams        -> live streams (JSON); GET /streams/<id>/view -> their annotated frames (MJPEG)
//   GET / or /ui        -> the live view's page
//   POST /admin/reload  -> re-reads the configuration file and rescans the plugins folder; 200 when all of it
//                          applied, 422 when something was refused (the body says what; the rest applied)
// image/x-raw describes its pixels with Content-Type parameters:
//   image/x-raw; width=640; height=480; format=bgr24[; stride=1920]

#include "stream_sessions.h"

#include "live/telemetry.h"

#include "routing/router.h"
#include "runtime/admin.h"
#include "runtime/memory_budget.h"
#include "runtime/readiness.h"
#include "security/credentials.h"

#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

namespace ava::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::vector_body<std::uint8_t>>;
using Response = beast_http::response<beast_http::string_body>;

class RequestHandler {
public:
    // Decoded pixels are reserved in `memory`, the host's frame-bytes budget.
    RequestHandler(const routing::Router& router, runtime::Admin& admin, security::Credentials credentials,
                   runtime::MemoryBudget& memory, StreamSessions::Limits stream_limits,
                   const runtime::Readiness& readiness, live::Telemetry* telemetry = nullptr);

    // The checks that need only the request's header (credentials, method, path, Content-Type), on the I/O
    // thread before the body is read: a response here refuses the request (answers `Expect: 100-continue`).
    std::optional<Response> check_header(const Request& header) const;

    // Who may ask: without credentials configured, anything that changes the host's state (/admin/...) is
    // only for clients on this machine (loopback). A response here refuses the request (403).
    std::optional<Response> check_origin(const Request& header, bool from_loopback) const;

    // Cheap checks on the I/O thread once the whole request is in; a response here means the request needs
    // no analysis.
    std::optional<Response> answer_directly(const Request& request) const;

    // Decode + route + analyse: runs on a frame worker. So does POST /admin/reload: loading plugins must not
    // stall socket I/O.
    // `received`: when the whole request was in (the receive-to-answer histogram starts there).
    Response analyze(const Request& request,
                     std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now()) const;

    // GET /streams/<id>/view of a live stream, once the header checks pass: the stream to send as MJPEG
    // (the server keeps the response open); nullptr otherwise (answer_directly() answers).
    std::shared_ptr<live::LiveStream> view_of(const Request& request) const;
    // A frame refused before it was routed (no room in the host): counted as refused.
    void count_refused() const;

    // Error responses share one shape: {"error":{"code":..., "message":...}}.
    static Response error(const Request& request, beast_http::status status, std::string_view message);

private:
    Response listing(const Request& request) const;
    Response reload(const Request& request) const;
    Response readiness(const Request& request) const;
    Response observability(const Request& request, std::string_view path) const;

    const routing::Router& router_;
    runtime::Admin& admin_;
    security::Credentials credentials_;
    runtime::MemoryBudget& memory_;
    mutable StreamSessions streams_;
    const runtime::Readiness& readiness_; // analysis (a const operation) opens and ends stream sessions
    live::Telemetry* telemetry_;
};

} // namespace ava::http
