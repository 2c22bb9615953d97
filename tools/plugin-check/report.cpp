#include "report.h"

#include <algorithm>

namespace ava::plugin_check {

void Report::fail(const std::string& check, const std::string& message)
{
    const std::lock_guard lock(mutex_);
    auto it = std::find_if(per_check_.begin(), per_check_.end(), [&](const auto& c) { return c.first == check; });
    if (it == per_check_.end()) {
        it = per_check_.insert(per_check_.end(), {check, 0});
    }
    if (++it->second <= max_lines_per_check) {
        failures_.push_back(check + ": " + message);
    }
}

void Report::note(const std::string& message)
{
    const std::lock_guard lock(mutex_);
    notes_.push_back(message);
}

std::vector<std::string> Report::failures() const
{
    const std::lock_guard lock(mutex_);
    auto lines = failures_;
    for (const auto& [check, count] : per_check_) {
        if (count > max_lines_per_check) {
            lines.push_back(check + ": ... and " + std::to_string(count - max_lines_per_check) + " more like these");
        }
    }
    return lines;
}

std::vector<std::string> Report::notes() const
{
    const std::lock_guard lock(mutex_);
    return notes_;
}

std::size_t Report::failure_count() const
{
    const std::lock_guard lock(mutex_);
    std::size_t total = 0;
    for (const auto& c : per_check_) {
        total += c.second;
    }
    return total;
}

} // namespace ava::plugin_check
