#include "log_format.h"

#include "inferences/utf8.h"
#include "log_context.h"

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>

namespace ava::runtime {
namespace {

constexpr std::string_view text_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v";

void append(spdlog::memory_buf_t& out, std::string_view text) { out.append(text.data(), text.data() + text.size()); }

// A JSON string's contents: quotes, backslashes and control bytes escaped; invalid UTF-8 (a client's bytes
// that got into a message) repaired, so every line parses.
void append_json_string(spdlog::memory_buf_t& out, std::string_view text)
{
    std::string repaired;
    if (!inferences::is_valid_utf8(text)) {
        repaired.assign(text);
        inferences::repair_utf8(repaired);
        text = repaired;
    }
    for (const char c : text) {
        switch (c) {
        case '"':
            append(out, "\\\"");
            break;
        case '\\':
            append(out, "\\\\");
            break;
        case '\n':
            append(out, "\\n");
            break;
        case '\r':
            append(out, "\\r");
            break;
        case '\t':
            append(out, "\\t");
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                append(out, escaped);
            } else {
                out.push_back(c);
            }
        }
    }
}

// ,"key":"value" when the value is known. Pipeline, node and request id are the client's words: a few hundred
// bytes of them at most (a cut UTF-8 sequence is repaired like any other invalid byte).
void append_field(spdlog::memory_buf_t& out, std::string_view key, std::string_view value)
{
    constexpr std::size_t longest = 256;
    if (value.empty()) {
        return;
    }
    append(out, ",\"");
    append(out, key);
    append(out, "\":\"");
    append_json_string(out, value.substr(0, longest));
    out.push_back('"');
}

class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override
    {
        const auto since_epoch = msg.time.time_since_epoch();
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
        const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
        const std::time_t t = seconds.count();
        std::tm utc{};
        gmtime_r(&t, &utc);
        char time[40];
        const auto length = std::strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%S", &utc);
        std::snprintf(time + length, sizeof time - length, ".%03dZ", static_cast<int>(millis));
        append(dest, R"({"time":")");
        append(dest, time);
        append(dest, R"(","level":")");
        const auto level = spdlog::level::to_string_view(msg.level);
        append(dest, std::string_view(level.data(), level.size()));
        append(dest, R"(","thread":)");
        append(dest, std::to_string(msg.thread_id));
        append(dest, R"(,"message":")");
        append_json_string(dest, std::string_view(msg.payload.data(), msg.payload.size()));
        append(dest, "\"");
        if (const auto* fields = LogScope::current()) {
            append_field(dest, "pipeline", fields->pipeline);
            append_field(dest, "node", fields->node);
            append_field(dest, "analyzer", fields->analyzer);
            append_field(dest, "route", fields->route);
            append_field(dest, "requestId", fields->request_id);
            append_field(dest, "peer", fields->peer);
        }
        append(dest, "}\n");
    }

    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

} // namespace

void use_log_format(std::string_view format)
{
    if (format == "json") {
        spdlog::set_formatter(std::make_unique<JsonFormatter>());
    } else {
        spdlog::set_pattern(std::string(text_pattern));
    }
}

std::string_view log_format_argument(int argc, const char* const argv[]) noexcept
{
    std::string_view format;
    for (int i = 1; i < argc; ++i) {
        const std::string_view argument = argv[i];
        if (argument == "--log-format" && i + 1 < argc) {
            format = argv[i + 1];
        } else if (argument.starts_with("--log-format=")) {
            format = argument.substr(13);
        }
    }
    return format;
}

} // namespace ava::runtime
