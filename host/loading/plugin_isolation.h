#pragma once
// IsolationSettings: where each analyzer's code runs and the limits it runs under (docs/isolation.md).
// Read when a plugin version loads; a change applies to versions loaded after it.

#include "loaded_plugin.h"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string_view>
#include <string>

namespace ava::loading {

// "process" or "none"; nullopt for anything else.
inline std::optional<Isolation> isolation_from(std::string_view text)
{
    if (text == "process") {
        return Isolation::process;
    }
    if (text == "none") {
        return Isolation::none;
    }
    return std::nullopt;
}

struct IsolationSettings {
    Isolation mode = Isolation::process;                 // for analyzers not named in per_analyzer
    std::map<std::string, Isolation, std::less<>> per_analyzer;
    std::chrono::milliseconds analysis_timeout{10000};   // process, open_stream, close_stream, destroy
    std::chrono::milliseconds load_timeout{60000};       // loading the .so and create() (models load here)
    std::size_t memory_bytes = 0;                        // per worker process; 0 = no limit
    std::map<std::string, std::size_t, std::less<>> memory_per_analyzer;
    std::filesystem::path worker_executable;             // ava-analyzer-worker
    unsigned worker_threads = 2;                         // calls one worker runs at once
    std::size_t arena_bytes = std::size_t{256} << 20;    // per worker: frames placed for it (virtual until used)

    Isolation mode_for(std::string_view analyzer) const
    {
        const auto it = per_analyzer.find(analyzer);
        return it != per_analyzer.end() ? it->second : mode;
    }
    std::size_t memory_for(std::string_view analyzer) const
    {
        const auto it = memory_per_analyzer.find(analyzer);
        return it != memory_per_analyzer.end() ? it->second : memory_bytes;
    }
};

} // namespace ava::loading
