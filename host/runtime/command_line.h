#pragma once
// Command-line flags of ava-extension-host (see --help). Flags override the configuration file.

#include "host_options.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ava::runtime {

struct CommandLine {
    HostOptions options;
    bool check_config_only = false; // --check-config FILE: validate and exit
    std::optional<std::string> exit_message; // --help/--version text: print and exit 0
    std::optional<std::string> health_check_url; // --health-check URL: probe a running host and exit
};

// A flag that does not parse or whose value is out of its range: the program exits 2 (usage), not 1.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Throws UsageError for bad flags, std::runtime_error (ConfigError) for a bad configuration file; each with a
// one-line explanation.
CommandLine parse_command_line(int argc, const char* const argv[]);
// The same from the arguments after the program name (what a reload re-parses: HostOptions::arguments).
CommandLine parse_arguments(const std::vector<std::string>& arguments);

} // namespace ava::runtime
