#pragma once
// Reloader: applies changes while the host serves, on an admin thread of its own.
//   - the configuration file: on SIGHUP, on POST /admin/reload, and when its text changes (inotify on its
//     folder). Reloadable: routes, defaultAnalyzer, analyzer configurations, log level. Everything else
//     (addresses, ports, TLS, credentials, limits, pluginsDir) is restart-only: a change is logged as a
//     warning and ignored. A file that does not parse, names an analyzer that is not loaded, or whose
//     analyzer configuration an analyzer refuses is refused as a whole; the running configuration stays.
//   - the plugins folder (inotify): new, replaced and removed .so files, once written (see FolderWatcher).
// One thread does all of it, so loading a plugin or unloading a drained version (PluginFolder::reap)
// never runs on an I/O thread or a frame worker, and changes never overlap.

#include "admin.h"
#include "host_options.h"

#include "loading/folder_watcher.h"
#include "loading/plugin_folder.h"
#include "routing/router.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

namespace ava::runtime {

class Reloader final : public Admin {
public:
    // `running`: the options the host started with (never changed: front-ends hold references into them).
    Reloader(const HostOptions& running, const loading::AnalyzerRegistry& registry, loading::PluginFolder& plugins,
             routing::Router& router);
    Reloader(const Reloader&) = delete;
    Reloader& operator=(const Reloader&) = delete;
    ~Reloader() override; // stops the admin thread

    // Starts the admin thread, the watchers and the SIGHUP handler.
    void start();
    void stop();

    std::vector<loading::AnalyzerState> analyzers() const override { return plugins_.analyzers(); }
    ReloadCounters counters() const override;
    // Runs on the admin thread and waits for it; never call it from the admin thread.
    ReloadReport reload() override;

    // How long a file must keep still before it is acted on.
    static constexpr std::chrono::milliseconds settle_time{200};

private:
    ReloadReport reload_now(std::string_view trigger);
    ConfigReloadReport apply_config(std::string_view trigger);
    void config_folder_changed();
    void plugins_changed(const loading::ScanReport& report);
    void schedule_reap();
    void wait_for_hangup();
    void watch(std::optional<loading::FolderWatcher>& watcher, const std::filesystem::path& folder,
               loading::FolderWatcher::Callbacks callbacks, std::string_view what);

    const HostOptions& running_;
    const loading::AnalyzerRegistry& registry_;
    loading::PluginFolder& plugins_;
    routing::Router& router_;
    std::string considered_config_text_; // last text applied or refused: the watcher acts only on new text

    mutable std::mutex counters_mutex_;
    std::uint64_t config_reloads_ = 0;
    std::uint64_t config_refusals_ = 0;
    std::string last_config_refusal_;

    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    boost::asio::signal_set hangup_;
    boost::asio::steady_timer reap_timer_;
    bool reap_scheduled_ = false;
    std::list<std::optional<loading::FolderWatcher>> plugin_watchers_; // one per folder; after io_: destroyed while it still exists
    std::optional<loading::FolderWatcher> config_watcher_;
    std::thread thread_;
};

} // namespace ava::runtime
