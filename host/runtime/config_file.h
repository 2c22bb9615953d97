#pragma once
// The configuration file (JSON), strictly checked: every error names the file, the JSON path and what was
// expected, and the host refuses to start rather than guess. Format: packaging/config.example.json.

#include "host_options.h"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace ava::runtime {

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Reads `file` and applies what it sets onto `options`. Throws ConfigError.
void apply_config_file(const std::filesystem::path& file, HostOptions& options);

// Checks the combination (port clash, TLS key without certificate, ...). Throws ConfigError.
void validate(const HostOptions& options);

// Checks that every route (and a configured default analyzer) names a loaded analyzer; `loaded` is sorted.
// Throws ConfigError naming the route's JSON path.
void check_route_analyzers(const HostOptions& options, const std::vector<std::string>& loaded);

} // namespace ava::runtime
