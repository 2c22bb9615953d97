#pragma once
// Report: a run's result as a human-readable table or as one JSON object (for comparing runs).

#include "load_options.h"
#include "process_stats.h"
#include "run_stats.h"

#include <optional>
#include <ostream>
#include <string>

namespace ava::loadgen {

struct RunReport {
    explicit RunReport(const LoadOptions& o) : options(o) {}

    const LoadOptions& options;
    std::uint64_t frame_bytes = 0;
    RunStats stats;
    double measured_seconds = 0;
    std::optional<ProcessSample> host_before; // at the start of the measure window
    std::optional<ProcessSample> host_after;  // at its end
    double self_cpu_seconds = 0;              // the load generator's own CPU in the window: is it the bottleneck?

    double frames_per_second() const { return measured_seconds > 0 ? static_cast<double>(stats.frames_measured) / measured_seconds : 0; }
    // Every frame sent was acknowledged correctly and nothing failed.
    bool clean() const
    {
        return stats.error_count() == 0 && stats.frames_sent == stats.frames_acked && stats.frames_acked > 0 &&
               stats.silent_streams.empty();
    }
};

// "3 of 8 streams got no acknowledgement: 2, 5, 7" ("connections" over HTTP); "" when every one got some.
std::string silent_streams_summary(const RunReport& report);

void print_table(std::ostream& out, RunReport& report);
void print_json(std::ostream& out, RunReport& report);

} // namespace ava::loadgen
