// Fuzz target: raw bytes of an HTTP/1.1 request -> Boost.Beast request_parser (the server's limits) ->
// ava::http::RequestHandler::check_header() once the header is in, answer_directly() then analyze(), with
// the real color_intensity and motion plugins behind the Router. No socket: this is what one connection's bytes reach.
// Checks: nothing crashes, no exception escapes the handler, every JSON body is one JSON document.
#include "common/fuzz_env.h"

#include "http/request_handler.h"

#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

namespace http = boost::beast::http;

void check_response(const ava::http::Response& response)
{
    const auto type = response[http::field::content_type];
    if (type == "application/json") {
        AVA_FUZZ_CHECK(ava::fuzz::parses_as_json(response.body(), false), "response body is not JSON: " + response.body());
        // Strict UTF-8 (RFC 8259) is checked only when asked: error messages echo client bytes as they came
        // (see fuzz/README.md), and this check would stop every run at the first of them.
        static const bool strict = std::getenv("AVA_FUZZ_STRICT_UTF8") != nullptr;
        if (strict) {
            AVA_FUZZ_CHECK(ava::fuzz::parses_as_json(response.body(), true),
                           "response body is not valid UTF-8 JSON: " + response.body());
        }
    }
    if (response.result() == http::status::no_content) {
        AVA_FUZZ_CHECK(response.body().empty(), "204 with a body");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto& env = ava::fuzz::environment();
    static const ava::http::RequestHandler open_handler(*env.router, *env.admin, {}, env.memory, {}, env.readiness);
    static const ava::http::RequestHandler guarded_handler(*env.router, *env.admin,
                                                           ava::security::Credentials{"ava", "secret", "token"},
                                                           env.memory, {}, env.readiness);

    // The server's parser settings (host/http/http_server.cpp), with a smaller body limit for speed.
    http::request_parser<http::vector_body<std::uint8_t>> parser;
    parser.header_limit(32 * 1024);
    parser.body_limit(4u << 20);
    parser.eager(false); // stop after the header: the server checks it before it reads the body
    boost::beast::error_code ec;
    std::size_t offset = 0;
    bool header_checked = false;
    // The server's check of the header alone (credentials, method, Content-Type; Expect: 100-continue).
    const auto header_refused = [&] {
        if (header_checked || !parser.is_header_done()) {
            return false;
        }
        header_checked = true;
        parser.eager(true);
        (void)guarded_handler.check_header(parser.get());
        if (const auto refused = open_handler.check_header(parser.get())) {
            check_response(*refused);
            return true;
        }
        return false;
    };
    try {
        while (offset < size && !parser.is_done()) {
            if (header_refused()) {
                return 0;
            }
            const auto used = parser.put(boost::asio::buffer(data + offset, size - offset), ec);
            offset += used;
            if (ec == http::error::need_more) {
                ec = {};
                if (used == 0) {
                    break;
                }
                continue;
            }
            if (ec) {
                break;
            }
        }
        if (!ec && !parser.is_done() && parser.is_header_done() && !parser.chunked() && !parser.content_length()) {
            parser.put_eof(ec); // body until the connection closes
        }
    } catch (const std::exception&) {
        // Beast throws on some input (e.g. a chunk trailer field over 64 KiB: std::length_error); the
        // server must end just that connection (issue 10, item 1). Nothing of this request reaches the handler.
        return 0;
    }
    if (ec || !parser.is_done() || header_refused()) {
        return 0; // the server answers 400 / closes; the handler never sees it
    }
    const auto request = parser.release();

    // With credentials configured, everything but /healthz must stop at answer_directly.
    if (const auto direct = guarded_handler.answer_directly(request)) {
        check_response(*direct);
    }
    if (const auto direct = open_handler.answer_directly(request)) {
        check_response(*direct);
        return 0;
    }
    check_response(open_handler.analyze(request));
    return 0;
}
