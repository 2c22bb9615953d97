#include "reloader.h"

#include "command_line.h"
#include "config_file.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <fstream>
#include <future>
#include <sstream>

namespace ava::runtime {
namespace {

std::string read_text(const std::filesystem::path& file)
{
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool same_tls(const TlsFiles& a, const TlsFiles& b)
{
    return a.certificate_chain == b.certificate_chain && a.private_key == b.private_key;
}

// Settings the front-ends, the worker pool and the watcher were built with: they change only on restart.
std::vector<std::string> restart_only_changes(const HostOptions& a, const HostOptions& b)
{
    std::vector<std::string> changed;
    const auto check = [&](bool differs, const char* setting) {
        if (differs) {
            changed.emplace_back(setting);
        }
    };
    check(a.bind_address != b.bind_address, "bind");
    check(a.plugins_dirs != b.plugins_dirs, "pluginsDir");
    check(a.http_enabled != b.http_enabled, "http.enabled");
    check(a.http_port != b.http_port, "http.port");
    check(a.max_body_bytes != b.max_body_bytes, "http.maxBodyBytes");
    check(a.request_timeout != b.request_timeout, "http.requestTimeoutMs");
    check(!same_tls(a.http_tls, b.http_tls), "http.tls");
    check(a.grpc_enabled != b.grpc_enabled, "grpc.enabled");
    check(a.grpc_port != b.grpc_port, "grpc.port");
    check(a.grpc_max_message_bytes != b.grpc_max_message_bytes, "grpc.maxMessageBytes");
    check(!same_tls(a.grpc_tls, b.grpc_tls), "grpc.tls");
    check(a.max_concurrent_frames != b.max_concurrent_frames, "limits.maxConcurrentFrames");
    check(a.max_frame_bytes_in_flight != b.max_frame_bytes_in_flight, "limits.maxFrameBytesInFlight");
    check(a.max_connections != b.max_connections, "http.maxConnections");
    check(a.http_stream_idle != b.http_stream_idle, "http.streamIdleSeconds");
    check(a.max_http_streams != b.max_http_streams, "http.maxStreams");
    check(a.worker_threads != b.worker_threads, "limits.workers");
    check(a.retry_after_seconds != b.retry_after_seconds, "limits.retryAfterSeconds");
    check(a.credentials.username != b.credentials.username || a.credentials.password != b.credentials.password ||
              a.credentials.bearer_token != b.credentials.bearer_token,
          "credentials");
    return changed;
}

} // namespace

Reloader::Reloader(const HostOptions& running, const loading::AnalyzerRegistry& registry,
                   loading::PluginFolder& plugins, routing::Router& router)
    : running_(running), registry_(registry), plugins_(plugins), router_(router),
      considered_config_text_(running.config_text), work_(io_.get_executor()), hangup_(io_, SIGHUP), reap_timer_(io_)
{
}

Reloader::~Reloader() { stop(); }

void Reloader::start()
{
    for (const auto& folder : running_.plugins_dirs) {
        watch(plugin_watchers_.emplace_back(), folder,
              {.wanted = [](const std::string& name) { return std::filesystem::path(name).extension() == ".so"; },
               .settled = [this](const std::filesystem::path& file) { plugins_changed(plugins_.file_settled(file)); },
               .vanished = [this](const std::filesystem::path& file) { plugins_changed(plugins_.file_vanished(file)); },
               .overflow = [this] { plugins_changed(plugins_.rescan()); }},
              "plugins");
    }
    if (running_.config_file) {
        // Any name in the folder: a symlink swap (a Kubernetes ConfigMap) changes the file under another name.
        const auto on_change = [this](const std::filesystem::path&) { config_folder_changed(); };
        watch(config_watcher_, std::filesystem::absolute(*running_.config_file).parent_path(),
              {.wanted = [](const std::string&) { return true; },
               .settled = on_change,
               .vanished = on_change,
               .overflow = [this] { config_folder_changed(); }},
              "configuration changes");
    }
    wait_for_hangup();
    // What changed between the first load and the watch starting.
    boost::asio::post(io_, [this] {
        plugins_changed(plugins_.rescan());
        config_folder_changed();
    });
    thread_ = std::thread([this] { io_.run(); });
}

void Reloader::stop()
{
    work_.reset();
    io_.stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void Reloader::watch(std::optional<loading::FolderWatcher>& watcher, const std::filesystem::path& folder,
                     loading::FolderWatcher::Callbacks callbacks, std::string_view what)
{
    watcher.emplace(io_, folder, std::move(callbacks), settle_time);
    try {
        watcher->start();
        spdlog::info("watching {} for {}", folder.string(), what);
    } catch (const std::system_error& e) {
        spdlog::warn("not watching for {}: {}; after a change, send SIGHUP or POST /admin/reload", what, e.what());
        watcher.reset();
    }
}

void Reloader::wait_for_hangup()
{
    hangup_.async_wait([this](const boost::system::error_code& ec, int) {
        if (!ec) {
            reload_now("SIGHUP");
            wait_for_hangup();
        }
    });
}

ReloadReport Reloader::reload()
{
    std::packaged_task<ReloadReport()> task([this] { return reload_now("POST /admin/reload"); });
    auto report = task.get_future();
    boost::asio::post(io_, std::move(task));
    return report.get(); // throws std::future_error (broken promise) when the host stops first
}

ReloadReport Reloader::reload_now(std::string_view trigger)
{
    spdlog::info("{}: rescanning {}{}", trigger, plugins_dirs_text(running_),
                 running_.config_file ? " and re-reading " + running_.config_file->string() : std::string());
    ReloadReport report;
    // Plugins first, so new routes may name an analyzer that arrived together with them.
    report.plugins = plugins_.rescan(/*retry_refused=*/true);
    plugins_changed(report.plugins);
    if (running_.config_file) {
        report.config = apply_config(trigger);
    }
    return report;
}

void Reloader::config_folder_changed()
{
    if (!running_.config_file) {
        return; // started without --config: nothing to re-read (start() asks after every plugin rescan)
    }
    if (read_text(*running_.config_file) != considered_config_text_) {
        apply_config("file change");
    }
}

ConfigReloadReport Reloader::apply_config(std::string_view trigger)
{
    ConfigReloadReport report;
    report.file = *running_.config_file;
    considered_config_text_ = read_text(report.file);
    try {
        // The flags again over the file again: flags keep winning, as at start.
        const auto next = parse_arguments(running_.arguments).options;
        check_route_analyzers(next, registry_.names());
        try {
            plugins_.set_analyzer_configs(next.analyzer_configs);
        } catch (const loading::AnalyzerConfigError& e) {
            throw ConfigError(report.file.string() + ": $.analyzers." + e.analyzer() +
                              ": the analyzer refused this configuration: " + e.what());
        }
        // Nothing below can fail: the new configuration is in force from here.
        router_.set_table(next.routes);
        spdlog::set_level(spdlog::level::from_str(next.log_level));
        report.applied = true;
        report.restart_required = restart_only_changes(running_, next);
        {
            std::lock_guard lock(counters_mutex_);
            ++config_reloads_;
        }
        spdlog::info("configuration reloaded from {} ({}): {} route(s), default analyzer '{}', log level {}",
                     report.file.string(), trigger, next.routes.routes.size(), next.routes.default_analyzer,
                     next.log_level);
        for (const auto& setting : report.restart_required) {
            spdlog::warn("{}: {} changed, but takes effect only when the host restarts", report.file.string(), setting);
        }
    } catch (const std::exception& e) {
        report.error = e.what();
        {
            std::lock_guard lock(counters_mutex_);
            ++config_refusals_;
            last_config_refusal_ = report.error;
        }
        spdlog::error("configuration reload ({}) refused: {}; the running configuration stays in force", trigger,
                      report.error);
    }
    schedule_reap(); // replaced analyzer instances drain
    return report;
}

void Reloader::plugins_changed(const loading::ScanReport& report)
{
    if (!report.removed.empty()) {
        const auto table = router_.table();
        for (const auto& route : table->routes) {
            if (registry_.find(route.analyzer) == nullptr) {
                spdlog::warn("a route names analyzer '{}', which is no longer loaded: it answers 404 until the "
                             "analyzer is back",
                             route.analyzer);
            }
        }
    }
    schedule_reap();
}

void Reloader::schedule_reap()
{
    if (reap_scheduled_ || plugins_.draining() == 0) {
        return;
    }
    reap_scheduled_ = true;
    reap_timer_.expires_after(std::chrono::milliseconds(100));
    reap_timer_.async_wait([this](const boost::system::error_code& ec) {
        reap_scheduled_ = false;
        if (!ec) {
            plugins_.reap();
            schedule_reap();
        }
    });
}

ReloadCounters Reloader::counters() const
{
    ReloadCounters counters;
    counters.plugins = plugins_.counters();
    std::lock_guard lock(counters_mutex_);
    counters.config_reloads = config_reloads_;
    counters.config_refusals = config_refusals_;
    counters.last_config_refusal = last_config_refusal_;
    return counters;
}

} // namespace ava::runtime
