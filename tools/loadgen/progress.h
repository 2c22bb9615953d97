#pragma once
// Progress: what the run has done so far, for a line a second on stderr (elapsed, fps, acks, errors, p99
// so far). Every stream adds to it from its own thread: atomics only, and latencies in fixed log-scale
// buckets (about 4 % wide), so the frame path never takes a lock.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <stop_token>
#include <string>
#include <thread>

namespace ava::loadgen {

class Progress {
public:
    void acked(std::chrono::microseconds latency) noexcept;
    void error() noexcept { errors_.fetch_add(1, std::memory_order_relaxed); }

    std::uint64_t acks() const noexcept { return acks_.load(std::memory_order_relaxed); }
    std::uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }
    // The 99th percentile of every latency so far, in milliseconds (0 before the first ack).
    double p99_ms() const noexcept;

private:
    static constexpr std::size_t bucket_count = 512;
    static std::size_t bucket_of(std::int64_t us) noexcept;
    static double upper_us(std::size_t bucket) noexcept;

    std::atomic<std::uint64_t> acks_{0};
    std::atomic<std::uint64_t> errors_{0};
    std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
};

// Prints a progress line every second to `out` until destroyed.
class ProgressPrinter {
public:
    ProgressPrinter(const Progress& progress, std::ostream& out);

private:
    std::jthread thread_;
};

} // namespace ava::loadgen
