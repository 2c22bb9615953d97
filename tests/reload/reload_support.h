#pragma once
// Helpers for the reload tests: deploy plugin builds the ways people do, ask the host which version
// answers, read its admin listing, and wait for asynchronous changes with a deadline.

#include "host_process.h"

#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace ava::test {

// A build of tests/reload/swap_plugin.c (swap_v1, swap_v2, swap_v3_abi, ...) or of tests/plugins (probe).
std::filesystem::path test_plugin(const std::string& build);

// Writes `source`'s bytes over `target` in place: same inode, as `cp` does.
void copy_over(const std::filesystem::path& source, const std::filesystem::path& target);
// Writes `source` under a temporary name next to `target`, then renames it over `target`: as deploy tools do.
void move_into_place(const std::filesystem::path& source, const std::filesystem::path& target);
// Replaces a text file: in place, or through a rename (as most editors save).
void write_text(const std::filesystem::path& file, const std::string& text, bool by_rename = false);

// POSTs a 2x2 gray frame; returns the classification value, or "HTTP <status>: <body>" when not 200.
std::string answer(std::uint16_t port, const std::string& target, const Headers& headers = {});

// GET /analyzers, parsed (asserts nothing; an empty object when it fails).
rapidjson::Document listing(std::uint16_t port, const Headers& headers = {});

struct ListedAnalyzer {
    std::string name;
    std::string version;
    std::string state;
    std::string source;
    std::string loaded_from;
};
std::vector<ListedAnalyzer> listed_analyzers(std::uint16_t port);
// listing's "<group>": {"<kind>": n}, e.g. counter(port, "refusals", "plugins").
std::uint64_t counter(std::uint16_t port, const char* group, const char* kind);

// Whether `file` is mapped into process `pid` (/proc/<pid>/maps).
bool mapped(pid_t pid, const std::filesystem::path& file);

} // namespace ava::test
