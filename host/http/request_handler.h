#pragma once
// RequestHandler: the HTTP extension protocol, request in, response out, with no socket in sight.
//   POST <path>  image/jpeg|png|bmp|x-raw -> 200 {"inferences":[...]} | 204 | 400 | 404 | 500
//   GET /healthz -> 200 {"status":"ok"};  GET /analyzers -> loaded analyzers and routes
// image/x-raw describes its pixels with Content-Type parameters:
//   image/x-raw; width=640; height=480; format=bgr24[; stride=1920]

#include "loading/analyzer_registry.h"
#include "routing/router.h"
#include "security/credentials.h"

#include <boost/beast/http.hpp>

#include <cstdint>
#include <optional>

namespace ava::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::vector_body<std::uint8_t>>;
using Response = beast_http::response<beast_http::string_body>;

class RequestHandler {
public:
    RequestHandler(const routing::Router& router, const loading::AnalyzerRegistry& registry,
                   security::Credentials credentials);

    // Cheap checks on the I/O thread; a response here means the request needs no analysis.
    std::optional<Response> answer_directly(const Request& request) const;

    // Decode + route + analyse: runs on a frame worker.
    Response analyze(const Request& request) const;

    // Error responses share one shape: {"error":{"code":..., "message":...}}.
    static Response error(const Request& request, beast_http::status status, std::string_view message);

private:
    Response listing(const Request& request) const;

    const routing::Router& router_;
    const loading::AnalyzerRegistry& registry_;
    security::Credentials credentials_;
};

} // namespace ava::http
