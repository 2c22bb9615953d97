#include "memory_budget.h"

#include <unistd.h>

#include <fstream>
#include <string>

namespace ava::runtime {
namespace {

// A container's memory limit (cgroup v2), when it has one: the machine's RAM is not ours to use there.
std::optional<std::size_t> cgroup_memory_limit()
{
    std::ifstream in("/sys/fs/cgroup/memory.max");
    std::string text;
    if (!(in >> text) || text == "max") {
        return std::nullopt;
    }
    try {
        return static_cast<std::size_t>(std::stoull(text));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

} // namespace

std::size_t machine_memory()
{
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page_size = ::sysconf(_SC_PAGESIZE);
    std::size_t memory = pages > 0 && page_size > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size)
                                                    : std::size_t{2} << 30;
    if (const auto limit = cgroup_memory_limit()) {
        memory = std::min(memory, *limit);
    }
    return memory;
}

std::size_t default_frame_bytes_in_flight()
{
    constexpr std::size_t floor = std::size_t{256} << 20;
    constexpr std::size_t ceiling = std::size_t{2} << 30;
    return std::clamp(machine_memory() / 8, floor, ceiling);
}

std::size_t default_plugin_memory_bytes()
{
    return std::max(machine_memory() / 2, std::size_t{512} << 20);
}

} // namespace ava::runtime
