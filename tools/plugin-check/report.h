#pragma once
// Report: what ava-plugin-check found. Failures are one line each ("<check>: <what is wrong>"), recorded
// from any thread (a plugin may emit from its own threads); the tool exits 0 only when there are none.

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace ava::plugin_check {

class Report {
public:
    void fail(const std::string& check, const std::string& message);
    void note(const std::string& message); // informational, printed in text mode
    std::vector<std::string> failures() const;
    std::vector<std::string> notes() const;
    std::size_t failure_count() const;

private:
    // A plugin that fails the same way on every frame would print hundreds of identical lines: keep the
    // first few of each check and count the rest.
    static constexpr std::size_t max_lines_per_check = 5;
    mutable std::mutex mutex_;
    std::vector<std::string> failures_;
    std::vector<std::pair<std::string, std::size_t>> per_check_;
    std::vector<std::string> notes_;
};

} // namespace ava::plugin_check
