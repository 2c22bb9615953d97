#pragma once
// A wall-clock time as ISO 8601 UTC to the second ("2026-11-30T10:47:39Z"), for JSON listings.

#include <chrono>
#include <ctime>
#include <string>

namespace ava::runtime {

inline std::string iso_time(std::chrono::system_clock::time_point t)
{
    const auto seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

} // namespace ava::runtime
