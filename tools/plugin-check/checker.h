#pragma once
// The checks of ava-plugin-check, run against one plugin file (see main.cpp for what each one means).

#include "report.h"

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace ava::plugin_check {

struct CheckOptions {
    std::filesystem::path plugin;
    std::string config_json = "{}"; // create()
    std::string params_json = "{}"; // open_stream()'s parameters_json
    std::vector<std::filesystem::path> images;
    unsigned threads = 4;           // concurrent callers in the concurrency check
    unsigned timed_frames = 300;    // frames of the memory and timing check
};

struct Descriptor {
    std::string name, version, abi, description, concurrency;
    std::size_t struct_size = 0;
    std::string configuration_schema, parameters_schema; // ABI 1.1 JSON Schema texts, "" when not declared
    std::string input; // ABI 1.2 declared input, as GET /analyzers shows it
};

struct CheckResult {
    bool loaded = false;
    Descriptor descriptor;
    std::vector<std::string> exports;            // readable names of every exported symbol
    std::vector<std::string> formats_supported;  // pixel formats open_stream accepted
    std::vector<std::string> formats_refused;    // ... answered UNSUPPORTED
    std::size_t frames = 0;                      // process() calls made
    std::size_t inferences = 0;                  // inferences collected
    std::size_t timed_frames = 0;
    double p50_ms = 0, p99_ms = 0;
    std::string timed_on;                        // what the timed frames were
    long long memory_growth_bytes = 0;
    Report report;
};

// Runs every check. Never throws for what the plugin does; reports it.
void run_checks(const CheckOptions& options, CheckResult& result);

} // namespace ava::plugin_check
