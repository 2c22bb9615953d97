#pragma once
// Command-line flags of ava-extension-host (see --help). Flags override the configuration file.

#include "host_options.h"

#include <optional>
#include <string>

namespace ava::runtime {

struct CommandLine {
    HostOptions options;
    bool check_config_only = false; // --check-config FILE: validate and exit
    std::optional<std::string> exit_message; // --help/--version text: print and exit 0
};

// Throws std::runtime_error with a one-line explanation for bad flags or a bad configuration file.
CommandLine parse_command_line(int argc, const char* const argv[]);

} // namespace ava::runtime
