#include "process_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace ava::loadgen {

std::optional<ProcessSample> sample_process(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) {
        return std::nullopt;
    }
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(line.substr(close + 2));
    std::string skip;
    for (int field = 3; field < 14; ++field) { // state .. cmajflt
        fields >> skip;
    }
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    fields >> utime >> stime;
    if (!fields) {
        return std::nullopt;
    }
    ProcessSample sample;
    sample.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));

    std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
    unsigned long long size_pages = 0;
    unsigned long long resident_pages = 0;
    if (statm >> size_pages >> resident_pages) {
        sample.rss_bytes = resident_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    }
    return sample;
}

} // namespace ava::loadgen
