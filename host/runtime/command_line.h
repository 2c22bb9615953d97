#pragma once
// Command-line flags of ava-extension-host (see --help). Flags override the configuration file.

#include "host_options.h"

#include <optional>
#include <string>
#include <vector>

namespace ava::runtime {

struct CommandLine {
    HostOptions options;
    bool check_config_only = false; // --check-config FILE: validate and exit
    std::optional<std::string> exit_message; // --help/--version text: print and exit 0
    std::optional<std::string> health_check_url; // --health-check URL: probe a running host and exit
};

// Throws std::runtime_error with a one-line explanation for bad flags or a bad configuration file.
CommandLine parse_command_line(int argc, const char* const argv[]);
// The same from the arguments after the program name (what a reload re-parses: HostOptions::arguments).
CommandLine parse_arguments(const std::vector<std::string>& arguments);

} // namespace ava::runtime
