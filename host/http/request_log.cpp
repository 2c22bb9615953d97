#include "request_log.h"

#include "runtime/log_context.h"
#include "security/client_text.h"

#include <spdlog/spdlog.h>

namespace ava::http {

bool RequestLog::may_log_refusal(std::chrono::steady_clock::time_point now)
{
    if (now - window_start_ >= window_) {
        if (suppressed_ != 0) {
            spdlog::info("HTTP: {} more refused request(s) not logged in the last {} s", suppressed_, window_.count());
        }
        window_start_ = now;
        logged_in_window_ = 0;
        suppressed_ = 0;
    }
    if (logged_in_window_ < burst_) {
        ++logged_in_window_;
        return true;
    }
    ++suppressed_;
    return false;
}

void RequestLog::record(const Entry& e)
{
    const bool refused = e.status >= 400 && e.status < 500;
    const auto level = refused ? spdlog::level::info : spdlog::level::debug;
    if (!spdlog::should_log(level)) {
        return;
    }
    if (refused) {
        const std::scoped_lock lock(mutex_);
        if (!may_log_refusal(std::chrono::steady_clock::now())) {
            return;
        }
    }
    const runtime::LogScope scope({.request_id = e.request_id, .peer = e.peer});
    const auto ms = std::chrono::duration<double, std::milli>(e.took).count();
    spdlog::log(level, "HTTP {} {} -> {} ({} body bytes, {:.1f} ms){}{} from {}", security::client_text(e.method, 16),
                security::client_text(e.target, 120), e.status, e.body_bytes, ms,
                e.request_id.empty() ? "" : " request id ", security::client_text(e.request_id, 64), e.peer);
}

} // namespace ava::http
