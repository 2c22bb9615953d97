#pragma once
// IsolatedPlugin: a plugin version whose code runs in an analyzer worker process (isolation "process", the
// default). The host keeps the plugin's instances and sessions as ids in the worker; when the worker dies
// (crash, deadline, memory limit) the calls it had fail with the cause, a new worker is started (at once
// the first time, then with a growing back-off), instances are created again in it and open sessions are
// reopened on their next frame (their per-stream state is lost, and the log says so). A plugin that keeps
// failing (max_crashes within crash_window) is marked failed: its calls answer "unavailable" until its
// file changes or the host is asked to reload.

#include "version_copy.h"
#include "worker_process.h"

#include "loading/analyzer.h"
#include "loading/plugin_isolation.h"

#include <deque>
#include <memory>
#include <mutex>

namespace ava::isolation {

inline constexpr unsigned max_crashes = 5;
inline constexpr std::chrono::seconds crash_window{60};

class IsolatedPlugin : public loading::LoadedPlugin, public std::enable_shared_from_this<IsolatedPlugin> {
public:
    // Copies `file` (VersionCopy) and starts the first worker on the copy. Throws loading::PluginLoadError
    // when the plugin is refused, crashes while loading or misses its load deadline.
    static std::shared_ptr<IsolatedPlugin> load(const std::filesystem::path& file,
                                                const loading::IsolationSettings& settings,
                                                const std::filesystem::path& shadow_dir);

    IsolatedPlugin(loading::PluginInfo info, WorkerOptions options, std::chrono::milliseconds analysis_timeout,
                   std::unique_ptr<VersionCopy> version, std::shared_ptr<WorkerProcess> first);

    std::shared_ptr<loading::Analyzer> create_analyzer(std::string config_json) override;
    loading::Isolation isolation() const noexcept override { return loading::Isolation::process; }
    loading::PluginHealth health() const override;
    void reset_failures() override;

    // The running worker, started anew when the last one ended and its back-off has passed.
    // Throws loading::AnalyzerUnavailable while restarting or failed.
    std::shared_ptr<WorkerProcess> worker();
    // The worker if one is running now (null otherwise): for clean-up calls, which never start one.
    std::shared_ptr<WorkerProcess> running_worker() const;
    // A call on a worker failed: the AnalyzerError to throw, naming the analyzer and the cause.
    loading::AnalyzerError failure(const WorkerFailure& e) const;
    std::chrono::milliseconds analysis_timeout() const noexcept { return analysis_timeout_; }
    std::chrono::milliseconds load_timeout() const noexcept { return options_.load_timeout; }
    std::string deadline_text(const char* call, std::chrono::milliseconds timeout) const;

private:
    void note_end(const WorkerProcess& ended); // with mutex_ held

    WorkerOptions options_;
    std::chrono::milliseconds analysis_timeout_;
    std::unique_ptr<VersionCopy> version_; // what every worker of this version loads
    const WorkerHello loaded_; // what the first worker said: every restarted one must say the same
    std::mutex start_mutex_;   // held while a worker starts (serialises starts only)
    mutable std::mutex mutex_; // guards what follows
    std::shared_ptr<WorkerProcess> current_;
    bool current_end_noted_ = false;
    std::uint64_t generation_ = 1;
    std::uint64_t restarts_ = 0;
    std::deque<std::chrono::steady_clock::time_point> crashes_; // within crash_window
    std::chrono::steady_clock::time_point next_start_{};
    std::string last_failure_;
    bool failed_ = false;
};

} // namespace ava::isolation
