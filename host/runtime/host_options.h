#pragma once
// Everything the host can be told, with its documented defaults. Filled from the configuration file (if
// any), then from command-line flags, which win.

#include "loading/plugin_isolation.h"
#include "routing/route_table.h"
#include "security/credentials.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ava::runtime {

struct TlsFiles {
    std::filesystem::path certificate_chain; // PEM
    std::filesystem::path private_key;       // PEM
    bool enabled() const noexcept { return !certificate_chain.empty(); }
};

struct HostOptions {
    std::string bind_address = "0.0.0.0";
    std::uint16_t http_port = 8080; // port 0: pick a free port (logged, and written to ready_file)
    std::uint16_t grpc_port = 5001;
    bool http_enabled = true;
    bool grpc_enabled = true;
    std::vector<std::filesystem::path> plugins_dirs; // analyzer plugins folders; earlier ones win a name
    std::optional<std::filesystem::path> config_file;
    std::string log_level = "info";
    std::string log_format = "text"; // or "json": one object a line (runtime/log_format.h)
    bool metrics_enabled = true;     // false (--no-metrics): frames are not counted, no /metrics or live view

    unsigned io_threads = 1;     // Asio threads doing HTTP socket I/O (parsing is cheap; analysis is not)
    unsigned worker_threads = 0; // frame decode + analysis; 0 = one per core
    std::size_t max_body_bytes = 32u << 20;      // HTTP request body limit
    std::size_t max_concurrent_frames = 64;      // frames queued or in analysis, both front-ends
    std::size_t max_frame_bytes_in_flight = 0;   // received + decoded frame bytes, both front-ends; 0 = sized for the machine
    std::size_t max_connections = 1024;          // open HTTP connections; beyond it the oldest idle one is closed
    std::size_t grpc_max_message_bytes = 64u << 20; // must fit the largest embedded frame (1080p RGB24 ~ 6 MB)
    std::chrono::milliseconds request_timeout{30000}; // whole HTTP request must arrive within this
    std::chrono::milliseconds http_stream_idle{30000}; // an HTTP stream's analyzer session ends after this idle
    std::size_t max_http_streams = 256;                // HTTP stream sessions kept at once
    unsigned retry_after_seconds = 1; // Retry-After on 503

    TlsFiles http_tls;
    TlsFiles grpc_tls;
    security::Credentials credentials; // both front-ends

    loading::IsolationSettings isolation;     // where analyzer code runs, its deadlines and memory limit
    unsigned max_consecutive_analyzer_errors = 5; // a gRPC stream ends after this many failed frames in a row

    routing::RouteTable routes;
    std::map<std::string, std::string> analyzer_configs; // analyzer name -> instance configuration JSON

    std::filesystem::path ready_file; // written with the bound ports once serving (for scripts and tests)

    // For reloads: the flags as given (re-applied over the re-read file, so flags keep winning) and the
    // file's text as parsed (the file watcher reloads only when the text really changed).
    std::vector<std::string> arguments;
    std::string config_text;
};

// "a, b" for log lines and messages.
inline std::string plugins_dirs_text(const HostOptions& o)
{
    std::string text;
    for (const auto& dir : o.plugins_dirs) {
        text += (text.empty() ? "" : ", ") + dir.string();
    }
    return text;
}

} // namespace ava::runtime
