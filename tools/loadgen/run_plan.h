#pragma once
// RunPlan: when a run starts, what part of it is measured, and when it stops sending.

#include "load_options.h"
#include "run_stats.h"

#include <chrono>
#include <cstdint>
#include <optional>

namespace ava::loadgen {

struct RunPlan {
    Clock::time_point start;
    MeasureWindow window;                      // end = stop_at, or open-ended with a frame count
    std::optional<Clock::time_point> stop_at;  // --duration
    std::uint64_t frames_per_stream = 0;       // --frames (0: unlimited)
    std::chrono::nanoseconds frame_period{0};  // 0: as fast as acknowledged
    std::chrono::milliseconds timeout{30000};  // no progress for this long: give up
    Progress* progress = nullptr;              // every stream's acks and errors, as they happen

    static RunPlan from(const LoadOptions& options, Clock::time_point start)
    {
        RunPlan plan;
        plan.start = start;
        const auto seconds = [](double s) {
            return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
        };
        plan.window.start = start + seconds(options.warmup_s);
        plan.window.end = Clock::time_point::max();
        if (options.duration_s > 0) {
            plan.stop_at = start + seconds(options.warmup_s + options.duration_s);
            plan.window.end = *plan.stop_at;
        }
        plan.frames_per_stream = options.frames;
        if (options.fps > 0) {
            plan.frame_period = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / options.fps));
        }
        plan.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(options.timeout_s * 1000));
        return plan;
    }
};

} // namespace ava::loadgen
