#pragma once
// RunStats: what each stream or connection counted, merged into one result at the end of a run.
// Each stream owns its own RunStats (no sharing on the frame path); merge() runs once all have finished.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ava::loadgen {

class Progress;

using Clock = std::chrono::steady_clock;

// The part of the run that is measured: frames acknowledged between `start` and `end`.
struct MeasureWindow {
    Clock::time_point start;
    Clock::time_point end;
};

struct RunStats {
    std::uint64_t frames_sent = 0;
    std::uint64_t frames_acked = 0;     // acknowledged correctly (checked)
    std::uint64_t frames_measured = 0;  // acked inside the measure window
    std::uint64_t bytes_measured = 0;   // frame bytes of those
    std::vector<std::uint32_t> latencies_us;     // send -> ack, measured frames only
    Clock::time_point last_measured_ack{}; // end of the measured span when the run ends before the window does
    std::map<std::string, std::uint64_t> errors;        // by kind
    std::map<std::string, std::string> error_examples;  // the first message of each kind
    std::vector<unsigned> silent_streams;  // merged result: indices of the streams (connections) that got no ack
    Progress* progress = nullptr;  // the run's live counters (one stream's stats only; not merged)

    void error(const std::string& kind, const std::string& detail);
    // Records one correctly acknowledged frame.
    void acked(Clock::time_point sent, Clock::time_point now, std::uint64_t frame_bytes, const MeasureWindow& window);
    void merge(const RunStats& other);
    // Merges stream `index`'s own stats, noting the stream when it got no ack at all: a pipeline left
    // unserved fails the run even when it saw no error (a peer that holds a call and ends it cleanly).
    void merge_stream(unsigned index, const RunStats& stream);
    std::uint64_t error_count() const;
};

struct LatencySummary {
    double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
};

// Sorts `latencies_us` in place.
LatencySummary summarize(std::vector<std::uint32_t>& latencies_us);

} // namespace ava::loadgen
