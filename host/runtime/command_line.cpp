#include "command_line.h"

#include "config_file.h"
#include "memory_budget.h"

#include <ava_plugin.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string_view>
#include <filesystem>
#include <sstream>
#include <thread>

#ifndef AVA_DEFAULT_PLUGINS_DIR
#define AVA_DEFAULT_PLUGINS_DIR "/usr/lib/ava-extension-host/plugins"
#endif
#ifndef AVA_HOST_VERSION
#define AVA_HOST_VERSION "0.0.0"
#endif

namespace ava::runtime {

namespace po = boost::program_options;

namespace {

// Installed, the host serves AVA_DEFAULT_PLUGINS_DIR (from the install prefix). Run from its build tree
// (<build>/host/ava-extension-host), it serves the plugins built next to it, found from its own location,
// so no path of the build machine is compiled into the binary.
std::filesystem::path default_plugins_dir()
{
    std::error_code ec;
    const auto build = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path().parent_path();
    if (!ec && std::filesystem::exists(build / "CMakeCache.txt", ec) &&
        std::filesystem::is_directory(build / "plugins-out", ec)) {
        return build / "plugins-out";
    }
    return AVA_DEFAULT_PLUGINS_DIR;
}

} // namespace

CommandLine parse_command_line(int argc, const char* const argv[])
{
    return parse_arguments(std::vector<std::string>(argv + std::min(argc, 1), argv + argc));
}

namespace {

// Values a flag's type accepts but the host cannot use (Boost parses "-1" as a huge unsigned): refused with
// the flag's name and range, as a bad configuration file value is.
// "Not given": replaced by the machine's default once the file and the flags have had their say.
constexpr std::size_t default_memory_marker = std::numeric_limits<std::size_t>::max();

void check_flag_values(const boost::program_options::variables_map& vm)
{
    const auto range = [&](const char* name, std::uint64_t low, std::uint64_t high) {
        if (vm.count(name) == 0U) {
            return;
        }
        const auto& any = vm[name].value();
        const std::uint64_t value = any.type() == typeid(unsigned) ? boost::any_cast<unsigned>(any)
                                                                   : boost::any_cast<std::size_t>(any);
        if (value < low || value > high) {
            throw UsageError(std::string("--") + name + " " + std::to_string(value) + " is out of range (" +
                             std::to_string(low) + "-" + std::to_string(high) + ")");
        }
    };
    range("workers", 0, 1024);
    range("max-body-bytes", 1, std::uint64_t{1} << 32);
    range("max-concurrent-frames", 1, 1u << 20);
    range("max-frame-bytes-in-flight", 1u << 20, std::uint64_t{1} << 40);
    range("max-connections", 1, 1u << 20);
    range("stream-idle-seconds", 1, 86400);
    range("max-http-streams", 1, 1u << 20);
    range("request-timeout-ms", 1, 3600000);
    range("analysis-timeout-ms", 1, 3600000);
    range("plugin-load-timeout-ms", 1, 3600000);
    range("plugin-memory-mib", 0, 1u << 24);
    range("max-consecutive-analyzer-errors", 1, 1u << 20);
    if (vm.count("log-format") != 0U && vm["log-format"].as<std::string>() != "text" &&
        vm["log-format"].as<std::string>() != "json") {
        throw UsageError("--log-format '" + vm["log-format"].as<std::string>() + "' is not one of text, json");
    }
    if (vm.count("log-level") != 0U) {
        static constexpr std::array<std::string_view, 7> levels{"trace", "debug", "info", "warn",
                                                                "error", "critical", "off"};
        const auto& level = vm["log-level"].as<std::string>();
        if (std::find(levels.begin(), levels.end(), level) == levels.end()) {
            throw UsageError("--log-level '" + level + "' is not one of trace, debug, info, warn, error, critical, off");
        }
    }
}

} // namespace

CommandLine parse_arguments(const std::vector<std::string>& arguments)
{
    po::options_description flags("ava-extension-host " AVA_HOST_VERSION
                                  " — serves analyzer plugins over the AVA HTTP and gRPC extension protocols.\n"
                                  "Options (they override the configuration file)");
    // clang-format off
    flags.add_options()
        ("help,h", "print this help and exit")
        ("version", "print the version and exit")
        ("config,c", po::value<std::string>(), "configuration file (JSON); see packaging/config.example.json")
        ("check-config", po::value<std::string>(), "validate a configuration file and exit (0 = valid)")
        ("bind", po::value<std::string>(), "address both front-ends listen on (default 0.0.0.0)")
        ("http-port", po::value<unsigned>(), "HTTP extension port (default 8080; 0 = pick a free port)")
        ("grpc-port", po::value<unsigned>(), "gRPC extension port (default 5001; 0 = pick a free port)")
        ("no-http", "do not serve HTTP")
        ("no-grpc", "do not serve gRPC")
        ("plugins-dir", po::value<std::vector<std::string>>(), "folder of analyzer plugins (*.so); repeat for several, earlier ones win a name (default: " AVA_DEFAULT_PLUGINS_DIR "; in a build tree: <build>/plugins-out)")
        ("health-check", po::value<std::string>(), "GET this URL (e.g. http://127.0.0.1:8080/healthz) and exit 0 on 200, 1 otherwise (container HEALTHCHECK)")
        ("log-level", po::value<std::string>(), "trace, debug, info, warn, error, critical, off (default info)")
        ("no-metrics", "count nothing per frame: no /metrics, /streams or live view (to measure what they cost)")
        ("log-format", po::value<std::string>(), "text or json (one JSON object a line: time, level, thread, message; default text)")
        ("workers", po::value<unsigned>(), "frame worker threads (default: one per core)")
        ("max-body-bytes", po::value<std::size_t>(), "largest HTTP body accepted (default 33554432)")
        ("max-concurrent-frames", po::value<std::size_t>(), "frames queued or in analysis before HTTP answers 503 (default 64)")
        ("max-frame-bytes-in-flight", po::value<std::size_t>(), "received and decoded frame bytes in flight, both front-ends (default: 1/8 of memory, 256 MiB-2 GiB)")
        ("max-connections", po::value<std::size_t>(), "open HTTP connections before the oldest idle one is closed (default 1024)")
        ("stream-idle-seconds", po::value<unsigned>(), "an HTTP stream's analyzer session (?stream-id= or live pipeline) ends after this long idle (default 30)")
        ("max-http-streams", po::value<std::size_t>(), "HTTP stream sessions kept at once (default 256)")
        ("request-timeout-ms", po::value<unsigned>(), "time allowed to receive a whole HTTP request (default 30000)")
        ("tls-cert", po::value<std::string>(), "PEM certificate chain: serve both front-ends over TLS")
        ("tls-key", po::value<std::string>(), "PEM private key for --tls-cert")
        ("username", po::value<std::string>(), "require Basic credentials (HTTP Authorization, gRPC x-ms-authentication)")
        ("password", po::value<std::string>(), "password for --username")
        ("bearer-token", po::value<std::string>(), "accept HTTP 'Authorization: Bearer <token>'")
        ("ready-file", po::value<std::string>(), "write {\"http_port\":..,\"grpc_port\":..} here once serving")
        ("isolation", po::value<std::string>(), "where analyzer code runs: process (each plugin in a worker process, default) or none (inside the host)")
        ("analysis-timeout-ms", po::value<unsigned>(), "deadline of one process/open_stream/close_stream call of an isolated analyzer; its worker is killed after it (default 10000)")
        ("plugin-load-timeout-ms", po::value<unsigned>(), "deadline for loading a plugin and create() in a worker (default 60000)")
        ("plugin-memory-mib", po::value<unsigned>(), "memory limit of one analyzer worker process, MiB (default: half the machine, at least 512; 0 = none)")
        ("max-consecutive-analyzer-errors", po::value<unsigned>(), "a gRPC stream ends with INTERNAL after this many failed frames in a row (default 5)");
    // clang-format on
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(arguments).options(flags).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(std::string(e.what()) + " (see --help)");
    }
    check_flag_values(vm);

    CommandLine result;
    if (vm.count("help") != 0U) {
        std::ostringstream text;
        text << flags;
        result.exit_message = text.str();
        return result;
    }
    if (vm.count("version") != 0U) {
        result.exit_message = "ava-extension-host " AVA_HOST_VERSION " (plugin ABI " +
                              std::to_string(AVA_PLUGIN_ABI_MAJOR) + "." + std::to_string(AVA_PLUGIN_ABI_MINOR) + ")";
        return result;
    }

    if (vm.count("health-check") != 0U) {
        result.health_check_url = vm["health-check"].as<std::string>();
        return result;
    }

    HostOptions& o = result.options;
    o.plugins_dirs = {default_plugins_dir()};
    o.isolation.memory_bytes = default_memory_marker;
    o.arguments = arguments;
    if (vm.count("check-config") != 0U) {
        result.check_config_only = true;
        o.config_file = vm["check-config"].as<std::string>();
    } else if (vm.count("config") != 0U) {
        o.config_file = vm["config"].as<std::string>();
    }
    if (o.config_file) {
        apply_config_file(*o.config_file, o);
    }

    const auto port = [&](const char* name) {
        const unsigned value = vm[name].as<unsigned>();
        if (value > 65535) {
            throw UsageError(std::string("--") + name + " " + std::to_string(value) + " is not a port (0-65535)");
        }
        return static_cast<std::uint16_t>(value);
    };
    if (vm.count("bind") != 0U) o.bind_address = vm["bind"].as<std::string>();
    if (vm.count("http-port") != 0U) o.http_port = port("http-port");
    if (vm.count("grpc-port") != 0U) o.grpc_port = port("grpc-port");
    if (vm.count("no-http") != 0U) o.http_enabled = false;
    if (vm.count("no-grpc") != 0U) o.grpc_enabled = false;
    if (vm.count("plugins-dir") != 0U) {
        const auto& dirs = vm["plugins-dir"].as<std::vector<std::string>>();
        o.plugins_dirs.assign(dirs.begin(), dirs.end());
    }
    if (vm.count("log-level") != 0U) o.log_level = vm["log-level"].as<std::string>();
    if (vm.count("log-format") != 0U) o.log_format = vm["log-format"].as<std::string>();
    if (vm.count("no-metrics") != 0U) o.metrics_enabled = false;
    if (vm.count("workers") != 0U) o.worker_threads = vm["workers"].as<unsigned>();
    if (vm.count("max-body-bytes") != 0U) o.max_body_bytes = vm["max-body-bytes"].as<std::size_t>();
    if (vm.count("max-concurrent-frames") != 0U) o.max_concurrent_frames = vm["max-concurrent-frames"].as<std::size_t>();
    if (vm.count("max-frame-bytes-in-flight") != 0U) o.max_frame_bytes_in_flight = vm["max-frame-bytes-in-flight"].as<std::size_t>();
    if (vm.count("max-connections") != 0U) o.max_connections = vm["max-connections"].as<std::size_t>();
    if (vm.count("stream-idle-seconds") != 0U) o.http_stream_idle = std::chrono::seconds(vm["stream-idle-seconds"].as<unsigned>());
    if (vm.count("max-http-streams") != 0U) o.max_http_streams = vm["max-http-streams"].as<std::size_t>();
    if (vm.count("request-timeout-ms") != 0U) o.request_timeout = std::chrono::milliseconds(vm["request-timeout-ms"].as<unsigned>());
    if (vm.count("tls-cert") != 0U) o.http_tls.certificate_chain = o.grpc_tls.certificate_chain = vm["tls-cert"].as<std::string>();
    if (vm.count("tls-key") != 0U) o.http_tls.private_key = o.grpc_tls.private_key = vm["tls-key"].as<std::string>();
    if (vm.count("username") != 0U) o.credentials.username = vm["username"].as<std::string>();
    if (vm.count("password") != 0U) o.credentials.password = vm["password"].as<std::string>();
    if (vm.count("bearer-token") != 0U) o.credentials.bearer_token = vm["bearer-token"].as<std::string>();
    if (vm.count("ready-file") != 0U) o.ready_file = vm["ready-file"].as<std::string>();
    if (vm.count("isolation") != 0U) {
        const auto mode = loading::isolation_from(vm["isolation"].as<std::string>());
        if (!mode) {
            throw UsageError("--isolation '" + vm["isolation"].as<std::string>() + "' is not one of process, none");
        }
        o.isolation.mode = *mode;
    }
    if (vm.count("analysis-timeout-ms") != 0U) o.isolation.analysis_timeout = std::chrono::milliseconds(vm["analysis-timeout-ms"].as<unsigned>());
    if (vm.count("plugin-load-timeout-ms") != 0U) o.isolation.load_timeout = std::chrono::milliseconds(vm["plugin-load-timeout-ms"].as<unsigned>());
    if (vm.count("plugin-memory-mib") != 0U) o.isolation.memory_bytes = std::size_t{vm["plugin-memory-mib"].as<unsigned>()} << 20;
    if (vm.count("max-consecutive-analyzer-errors") != 0U) o.max_consecutive_analyzer_errors = vm["max-consecutive-analyzer-errors"].as<unsigned>();

    if (o.max_frame_bytes_in_flight == 0) {
        o.max_frame_bytes_in_flight = default_frame_bytes_in_flight();
    }
    if (o.isolation.memory_bytes == default_memory_marker) {
        o.isolation.memory_bytes = default_plugin_memory_bytes();
    }
    if (o.worker_threads == 0) {
        o.worker_threads = std::max(1u, std::thread::hardware_concurrency());
    }
    // Every frame worker may be in a call at once, and a gRPC thread opening a stream besides.
    o.isolation.worker_threads = o.worker_threads + 1;
    o.isolation.arena_bytes = o.max_frame_bytes_in_flight;
    validate(o);
    return result;
}

} // namespace ava::runtime
