#pragma once
// RequestLog: one line per HTTP request at debug (method, path, status, body bytes, time, request id, peer),
// and refusals (4xx) at info — at most `burst` per `window`, then one line saying how many were left out, so
// a misconfigured or hostile client cannot flood the log.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace ava::http {

class RequestLog {
public:
    struct Entry {
        std::string_view method;
        std::string_view target;
        std::string_view request_id;
        std::string_view peer;
        unsigned status = 0;
        std::size_t body_bytes = 0;
        std::chrono::steady_clock::duration took{};
    };

    explicit RequestLog(unsigned burst = 20, std::chrono::seconds window = std::chrono::seconds(10))
        : burst_(burst), window_(window)
    {
    }

    void record(const Entry& entry);

private:
    bool may_log_refusal(std::chrono::steady_clock::time_point now); // under mutex_

    const unsigned burst_;
    const std::chrono::seconds window_;
    std::mutex mutex_;
    std::chrono::steady_clock::time_point window_start_{};
    unsigned logged_in_window_ = 0;
    std::uint64_t suppressed_ = 0;
};

} // namespace ava::http
