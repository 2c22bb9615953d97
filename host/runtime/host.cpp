#include "host.h"

#include "config_file.h"

#include "grpc/grpc_server.h"

#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <fstream>

namespace ava::runtime {
namespace {

// systemd and most shells start services with a soft limit of 1024 open files, far below what a host
// holding a connection per camera needs; the hard limit is ours to take.
void raise_open_file_limit()
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        const auto before = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) {
            spdlog::debug("open-file limit raised from {} to {}", before, limit.rlim_cur);
        }
    }
}

// An exception thrown by a handler leaves io_context::run(); Asio allows calling run() again. Unwinding
// destroys that handler and with it the connection it served, so one bad request ends one connection,
// never the process.
void run_containing_exceptions(boost::asio::io_context& io)
{
    for (;;) {
        try {
            io.run();
            return;
        } catch (const std::exception& e) {
            spdlog::error("I/O handler failed, its connection was dropped: {}", e.what());
        }
    }
}

} // namespace

Host::Host(HostOptions options)
    : options_(std::move(options)), plugins_(registry_, options_.plugins_dirs, options_.analyzer_configs, options_.isolation),
      router_(registry_, options_.routes),
      workers_(options_.worker_threads, options_.max_concurrent_frames, options_.max_frame_bytes_in_flight),
      signals_(io_, SIGINT, SIGTERM), drain_timer_(io_)
{
    readiness_.http_enabled = options_.http_enabled;
    readiness_.grpc_enabled = options_.grpc_enabled;
    add_metric_samplers();
}

void Host::add_metric_samplers()
{
    // Read at each scrape, on an I/O thread; the front-ends and the reloader exist from serve() on.
    using Kind = metrics::Metrics::Kind;
    metrics::add_process_samplers(metrics_);
    metrics_.add_sampler("ava_frames_in_flight", "Frames queued or in analysis, both front-ends", Kind::gauge,
                         [this] { return static_cast<double>(workers_.in_flight()); });
    metrics_.add_sampler("ava_frame_queue_depth", "Frames (and stream set-ups) waiting for a free frame worker thread",
                         Kind::gauge, [this] { return static_cast<double>(workers_.queued()); });
    metrics_.add_sampler("ava_frames_in_flight_limit", "--max-concurrent-frames", Kind::gauge,
                         [this] { return static_cast<double>(workers_.max_in_flight()); });
    metrics_.add_sampler("ava_http_connections_open", "Open HTTP connections", Kind::gauge, [this] {
        return http_server_ ? static_cast<double>(http_server_->open_connections()) : 0.0;
    });
    metrics_.add_sampler("ava_grpc_streams_open", "Open gRPC ProcessMediaStream calls", Kind::gauge, [this] {
        return grpc_server_ ? static_cast<double>(grpc_server_->open_streams()) : 0.0;
    });
    metrics_.add_sampler("ava_plugin_loads_total", "Analyzer plugins loaded at start", Kind::counter,
                         [this] { return static_cast<double>(plugins_loaded_at_start_); });
    metrics_.add_sampler("ava_plugin_reloads_total", "Plugin versions loaded, replaced or removed while serving",
                         Kind::counter, [this] {
                             return reloader_ ? static_cast<double>(reloader_->counters().plugins.reloads) : 0.0;
                         });
    metrics_.add_sampler("ava_plugin_refusals_total", "Plugin files refused, at start or later", Kind::counter, [this] {
        return reloader_ ? static_cast<double>(reloader_->counters().plugins.refusals) : 0.0;
    });
    metrics_.add_sampler("ava_config_reloads_total", "Configuration files applied while serving", Kind::counter, [this] {
        return reloader_ ? static_cast<double>(reloader_->counters().config_reloads) : 0.0;
    });
    metrics_.add_sampler("ava_config_refusals_total", "Configuration files refused on reload", Kind::counter, [this] {
        return reloader_ ? static_cast<double>(reloader_->counters().config_refusals) : 0.0;
    });
    // Isolation (docs/isolation.md): summed over the plugin versions loaded now, so a gauge.
    metrics_.add_sampler("ava_plugin_worker_restarts", "Analyzer worker processes restarted (loaded versions)",
                         Kind::gauge, [this] {
                             double restarts = 0;
                             for (const auto& analyzer : plugins_.analyzers()) {
                                 restarts += static_cast<double>(analyzer.health.restarts);
                             }
                             return restarts;
                         });
    metrics_.add_sampler("ava_analyzers_failed", "Analyzers marked failed after repeated worker failures",
                         Kind::gauge, [this] {
                             double failed = 0;
                             for (const auto& analyzer : plugins_.analyzers()) {
                                 failed += analyzer.health.state == loading::PluginHealth::State::failed ? 1 : 0;
                             }
                             return failed;
                         });
}

Host::~Host()
{
    // Finish worker tasks before the front-ends they answer through are destroyed.
    workers_.join();
}

std::vector<std::string> Host::load()
{
    // SIGHUP means "reload" once the reloader serves it; until then (loading can take seconds) it must not
    // terminate the host, which is its default action.
    std::signal(SIGHUP, SIG_IGN);
    const auto report = plugins_.load_all();
    plugins_loaded_at_start_ = report.loaded.size();
    spdlog::info("{} analyzer(s) loaded from {}, {} refused", report.loaded.size(), plugins_dirs_text(options_),
                 report.refused.size());
    check_route_analyzers(options_, registry_.names());
    const auto& table = options_.routes;
    if (registry_.find(table.default_analyzer) == nullptr) {
        spdlog::warn("default analyzer '{}' is not loaded: {} will answer 404", table.default_analyzer,
                     table.default_path);
    }
    return report.refused;
}

void Host::serve()
{
    std::uint16_t http_port = 0;
    std::uint16_t grpc_port = 0;
    raise_open_file_limit();
    reloader_ = std::make_unique<Reloader>(options_, registry_, plugins_, router_);
    reloader_->start();
    if (options_.http_enabled) {
        http_handler_ = std::make_unique<http::RequestHandler>(
            router_, *reloader_, options_.credentials, workers_.memory(),
            http::StreamSessions::Limits{options_.http_stream_idle, options_.max_http_streams}, readiness_,
            options_.metrics_enabled ? &telemetry_ : nullptr);
        http_server_ = std::make_unique<http::HttpServer>(io_, options_, *http_handler_, workers_);
        http_port = http_server_->start();
        readiness_.http_bound = true;
        spdlog::info("HTTP extension endpoint listening on {}:{}{}", options_.bind_address, http_port,
                     options_.http_tls.enabled() ? " (TLS)" : "");
    }
    if (options_.grpc_enabled) {
        grpc_server_ = std::make_unique<grpc_frontend::GrpcServer>(options_, router_, workers_,
                                                                    options_.metrics_enabled ? &telemetry_ : nullptr);
        grpc_port = grpc_server_->start();
        readiness_.grpc_bound = true;
        spdlog::info("gRPC extension endpoint listening on {}:{}{}", options_.bind_address, grpc_port,
                     options_.grpc_tls.enabled() ? " (TLS)" : "");
    }
    write_ready_file(http_port, grpc_port);

    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
        if (!ec) {
            spdlog::info("signal {}: shutting down, finishing in-flight frames", signal);
            shutdown();
        }
    });
    std::vector<std::jthread> io_threads;
    for (unsigned i = 1; i < options_.io_threads; ++i) {
        io_threads.emplace_back([this] { run_containing_exceptions(io_); });
    }
    run_containing_exceptions(io_);
}

void Host::shutdown()
{
    readiness_.draining = true;
    if (http_server_) {
        http_server_->stop();
    }
    if (grpc_server_) {
        grpc_server_->stop(); // lets open streams finish what they have in flight
    }
    drain_then_stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
}

void Host::drain_then_stop(std::chrono::steady_clock::time_point deadline)
{
    const bool drained = workers_.in_flight() == 0 || std::chrono::steady_clock::now() > deadline;
    // Once drained, one more short beat so the last responses leave the socket buffers.
    drain_timer_.expires_after(std::chrono::milliseconds(drained ? 100 : 20));
    drain_timer_.async_wait([this, drained, deadline](const boost::system::error_code&) {
        if (drained) {
            io_.stop();
        } else {
            drain_then_stop(deadline);
        }
    });
}

void Host::write_ready_file(std::uint16_t http_port, std::uint16_t grpc_port) const
{
    if (options_.ready_file.empty()) {
        return;
    }
    // Write then rename, so a reader never sees a half-written file.
    const auto temporary = options_.ready_file.string() + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << "{\"http_port\":" << http_port << ",\"grpc_port\":" << grpc_port << "}\n";
    }
    std::filesystem::rename(temporary, options_.ready_file);
}

} // namespace ava::runtime
