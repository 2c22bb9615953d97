// Fuzz target: Content-Type header values, above all image/x-raw's parameters
// (image/x-raw; width=W; height=H; format=F[; stride=S]), through RequestHandler (the parser is internal to
// host/http/request_handler.cpp). Input: <Content-Type value> '\n' <body bytes>.
#include "common/fuzz_env.h"

#include "http/request_handler.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    namespace http = boost::beast::http;
    auto& env = ava::fuzz::environment();
    static const ava::http::RequestHandler handler(*env.router, *env.admin, {}, env.memory, {}, env.readiness);

    const auto* end = data + size;
    const auto* newline = std::find(data, end, static_cast<std::uint8_t>('\n'));
    const std::string_view content_type(reinterpret_cast<const char*>(data), static_cast<std::size_t>(newline - data));
    // Beast refuses header values with control characters other than HTAB; so does the server's parser.
    if (std::any_of(content_type.begin(), content_type.end(),
                    [](char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f; })) {
        return 0;
    }
    ava::http::Request request{http::verb::post, "/score", 11};
    request.set(http::field::content_type, content_type);
    if (newline != end) {
        request.body().assign(newline + 1, end);
    }
    request.prepare_payload();
    if (const auto refused = handler.check_header(request)) {
        AVA_FUZZ_CHECK(ava::fuzz::parses_as_json(refused->body(), false), "response body is not JSON: " + refused->body());
        return 0;
    }
    const auto direct = handler.answer_directly(request);
    const auto response = direct ? *direct : handler.analyze(request);
    if (response[http::field::content_type] == "application/json") {
        AVA_FUZZ_CHECK(ava::fuzz::parses_as_json(response.body(), false), "response body is not JSON: " + response.body());
    }
    return 0;
}
