#pragma once
// Test support: starts the real ava-extension-host binary on ephemeral ports and talks HTTP to it over a
// real socket. Tests use these instead of calling host internals, so they exercise what users run.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ava::test {

std::filesystem::path host_binary();       // the built ava-extension-host
std::filesystem::path built_plugins_dir(); // where the tree's plugins are built
// Copies every bundled plugin, then the named test plugins (e.g. "libprobe.so"), into `folder`.
void copy_plugins(const std::filesystem::path& folder, std::initializer_list<const char*> test_plugins = {});
std::filesystem::path test_plugins_dir();  // where tests/plugins builds its test-only plugins
std::filesystem::path schema_file();       // the published inference metadata JSON schema

// A fresh private folder under /tmp, removed with the object.
class TempDir {
public:
    TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

class HostProcess {
public:
    // Starts the host with --http-port 0 --grpc-port 0 --plugins-dir <plugins_dir> plus `extra_args`, and
    // waits until it is serving (or throws with its log when it exits or does not get ready in time).
    explicit HostProcess(std::vector<std::string> extra_args = {},
                         std::filesystem::path plugins_dir = built_plugins_dir());
    HostProcess(const HostProcess&) = delete;
    HostProcess& operator=(const HostProcess&) = delete;
    ~HostProcess(); // SIGTERM, then SIGKILL after a grace period

    std::uint16_t http_port() const noexcept { return http_port_; }
    std::uint16_t grpc_port() const noexcept { return grpc_port_; }
    pid_t pid() const noexcept { return pid_; }
    bool running() const;
    std::string log() const; // everything it wrote to stdout/stderr so far

    // Sends SIGTERM and waits; returns the exit status (or -1 on timeout).
    int terminate(std::chrono::milliseconds grace = std::chrono::seconds(10));

private:
    TempDir dir_;
    pid_t pid_ = -1;
    std::uint16_t http_port_ = 0;
    std::uint16_t grpc_port_ = 0;
};

// Whether the host under test was built with AddressSanitizer (the tests are built like it): its quarantine
// keeps freed memory resident, so resident-size bounds do not apply.
constexpr bool running_under_address_sanitizer()
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Runs the host binary to completion (e.g. --check-config) and returns {exit code, output}.
std::pair<int, std::string> run_host_command(const std::vector<std::string>& args);

struct HttpReply {
    int status = 0;
    std::map<std::string, std::string> headers; // lower-case names
    std::string body;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& content_type = "", const std::string& body = "", const Headers& headers = {});
inline HttpReply http_post(std::uint16_t port, const std::string& target, const std::string& content_type,
                           const std::string& body, const Headers& headers = {})
{
    return http_request(port, "POST", target, content_type, body, headers);
}

// Sends raw bytes on a fresh connection and returns whatever comes back until the server closes it or
// `wait` passes. For malformed requests no HTTP client would send.
std::string raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds wait);

// Validates a response body against the published inference metadata schema; returns "" when valid,
// otherwise what failed and where.
std::string schema_violation(const std::string& json);

// The memory maps of a host and of its analyzer worker processes (its children), as one text: where a
// plugin's code is mapped, whichever process runs it (docs/isolation.md).
std::string maps_of_host_and_workers(pid_t host);

} // namespace ava::test
