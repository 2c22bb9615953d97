#pragma once
// Host: owns and wires the parts — plugin registry and folder, router, frame workers, both front-ends, the
// reloader — and runs them until SIGINT/SIGTERM, then drains in-flight frames before returning.

#include "command_line.h"
#include "frame_workers.h"
#include "host_options.h"
#include "readiness.h"
#include "reloader.h"

#include "http/http_server.h"
#include "live/telemetry.h"
#include "loading/analyzer_registry.h"
#include "loading/plugin_folder.h"
#include "routing/router.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

#include <memory>
#include <thread>
#include <vector>

namespace ava::grpc_frontend {
class GrpcServer;
}

namespace ava::runtime {

class Host {
public:
    explicit Host(HostOptions options);
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;
    ~Host();

    // Loads the plugins and checks every route names a loaded analyzer. Throws ConfigError. Returns why each
    // refused plugin file was refused (--check-config fails on any).
    std::vector<std::string> load();
    // Binds both front-ends and serves until a shutdown signal; returns once drained.
    void serve();

private:
    void write_ready_file(std::uint16_t http_port, std::uint16_t grpc_port) const;
    void shutdown();
    void drain_then_stop(std::chrono::steady_clock::time_point deadline);
    void add_metric_samplers();

    HostOptions options_; // as started: the front-ends keep references into it, so it never changes
    metrics::Metrics metrics_;   // before everything that reports to it
    live::LiveStreams live_streams_;
    live::Telemetry telemetry_{metrics_, live_streams_};
    std::uint64_t plugins_loaded_at_start_ = 0;
    loading::AnalyzerRegistry registry_;
    loading::PluginFolder plugins_;
    routing::Router router_;
    FrameWorkers workers_;
    Readiness readiness_;
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer drain_timer_;
    std::unique_ptr<Reloader> reloader_; // outlives the workers' join: a POST /admin/reload waits on it
    std::unique_ptr<http::RequestHandler> http_handler_;
    std::unique_ptr<http::HttpServer> http_server_;
    std::unique_ptr<grpc_frontend::GrpcServer> grpc_server_;
};

} // namespace ava::runtime
