#include "run_stats.h"

#include "progress.h"

#include <algorithm>
#include <numeric>

namespace ava::loadgen {

void RunStats::error(const std::string& kind, const std::string& detail)
{
    if (progress != nullptr) {
        progress->error();
    }
    if (++errors[kind] == 1) {
        error_examples[kind] = detail;
    }
}

void RunStats::acked(Clock::time_point sent, Clock::time_point now, std::uint64_t frame_bytes,
                     const MeasureWindow& window)
{
    ++frames_acked;
    if (progress != nullptr) {
        progress->acked(std::chrono::duration_cast<std::chrono::microseconds>(now - sent));
    }
    // By ack time: at steady state what the server completes inside the window is its throughput, even
    // when each frame takes longer than the warm-up (deep queues of large frames).
    if (now < window.start || now > window.end) {
        return;
    }
    ++frames_measured;
    last_measured_ack = std::max(last_measured_ack, now);
    bytes_measured += frame_bytes;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - sent).count();
    latencies_us.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, UINT32_MAX)));
}

void RunStats::merge(const RunStats& other)
{
    frames_sent += other.frames_sent;
    frames_acked += other.frames_acked;
    frames_measured += other.frames_measured;
    bytes_measured += other.bytes_measured;
    latencies_us.insert(latencies_us.end(), other.latencies_us.begin(), other.latencies_us.end());
    last_measured_ack = std::max(last_measured_ack, other.last_measured_ack);
    for (const auto& [kind, count] : other.errors) {
        errors[kind] += count;
    }
    silent_streams.insert(silent_streams.end(), other.silent_streams.begin(), other.silent_streams.end());
    for (const auto& [kind, example] : other.error_examples) {
        error_examples.emplace(kind, example);
    }
}

void RunStats::merge_stream(unsigned index, const RunStats& stream)
{
    merge(stream);
    if (stream.frames_acked == 0) {
        silent_streams.push_back(index);
    }
}

std::uint64_t RunStats::error_count() const
{
    std::uint64_t total = 0;
    for (const auto& entry : errors) {
        total += entry.second;
    }
    return total;
}

LatencySummary summarize(std::vector<std::uint32_t>& latencies_us)
{
    LatencySummary s;
    if (latencies_us.empty()) {
        return s;
    }
    std::sort(latencies_us.begin(), latencies_us.end());
    const auto at = [&](double q) {
        const auto index = static_cast<std::size_t>(q * static_cast<double>(latencies_us.size() - 1) + 0.5);
        return static_cast<double>(latencies_us[std::min(index, latencies_us.size() - 1)]);
    };
    s.p50_us = at(0.50);
    s.p90_us = at(0.90);
    s.p99_us = at(0.99);
    s.p999_us = at(0.999);
    s.max_us = static_cast<double>(latencies_us.back());
    s.mean_us = std::accumulate(latencies_us.begin(), latencies_us.end(), 0.0) / static_cast<double>(latencies_us.size());
    return s;
}

} // namespace ava::loadgen
