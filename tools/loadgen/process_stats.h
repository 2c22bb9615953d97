#pragma once
// ProcessStats: another process's CPU time and memory, read from /proc (for the host under load).

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace ava::loadgen {

struct ProcessSample {
    double cpu_seconds = 0;      // user + system, all threads
    std::uint64_t rss_bytes = 0; // resident set
};

// Reads /proc/<pid>/stat and /proc/<pid>/statm; nullopt if the process is gone.
std::optional<ProcessSample> sample_process(pid_t pid);

} // namespace ava::loadgen
