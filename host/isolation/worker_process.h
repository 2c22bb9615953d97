#pragma once
// WorkerProcess: one running analyzer worker (ava-analyzer-worker) seen from the host: the child process,
// its sockets, the frame arena it maps, and the cause when it ends. Every call has a deadline; a call that
// misses it gets the worker killed (SIGKILL), because a plugin stuck in a call cannot be interrupted any
// other way. When the worker dies, for whatever reason, every call in it fails at once with the cause
// (signal, exit code, memory limit, deadline).
//
// Calls travel on channels: one Unix socket pair per call the worker runs at once, each served by its own
// thread in the worker. A caller takes a free channel, writes its request and reads the reply itself, so a
// frame costs one round trip and no hand-off between threads on either side. A control socket carries the
// worker's hello; a monitor thread waits on it for the worker's end and reaps it.

#include "frame_arena.h"
#include "wire.h"
#include "worker_hello.h"

#include <ava_plugin.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ava::isolation {

// The worker died or was killed, or did not answer in time: what() is the operator's line, e.g.
// "its worker process was killed by signal 11 (Segmentation fault)".
class WorkerFailure : public std::runtime_error {
public:
    WorkerFailure(const std::string& message, bool deadline) : std::runtime_error(message), deadline_(deadline) {}
    bool deadline() const noexcept { return deadline_; }

private:
    bool deadline_;
};

struct WorkerOptions {
    std::filesystem::path executable;
    std::filesystem::path plugin;     // what the worker loads: the version's copy (version_copy.h)
    std::filesystem::path shown_as;   // the file in the plugins folder, for messages
    std::filesystem::path shadow_dir; // where the worker puts its private copy
    std::string label;                // for log lines: the file name
    unsigned threads = 2;
    std::size_t memory_bytes = 0;     // RLIMIT_DATA; 0 = none
    std::size_t arena_bytes = 0;
    std::chrono::milliseconds load_timeout{60000};
};

class WorkerProcess {
public:
    // Starts a worker and waits (up to load_timeout) for its hello. Throws WorkerLoadRefused when the
    // plugin was refused, WorkerFailure when the worker died or said nothing in time, std::system_error.
    static std::unique_ptr<WorkerProcess> start(const WorkerOptions& options, std::uint64_t generation);

    WorkerProcess(const WorkerProcess&) = delete;
    WorkerProcess& operator=(const WorkerProcess&) = delete;
    ~WorkerProcess(); // asks the worker to exit, kills it if it does not within a second

    // Sends one request and waits for its reply, at most `timeout`. On timeout the worker is killed and
    // `on_timeout` becomes the reason. Throws WorkerFailure.
    Message call(MessageKind kind, const std::string& payload, std::chrono::milliseconds timeout,
                 const std::string& on_timeout, int fd = -1);

    const WorkerHello& hello() const noexcept { return hello_; }
    FrameArena& arena() noexcept { return *arena_; }
    std::uint64_t generation() const noexcept { return generation_; }
    int pid() const noexcept { return pid_; }
    bool alive() const;
    // Why the worker ended (empty while alive).
    std::string end_reason() const;
    std::chrono::steady_clock::time_point end_time() const;
    // Kills the worker (SIGKILL); `reason` is what waiting calls and the log are told.
    void kill(const std::string& reason);

    WorkerProcess(const WorkerOptions& options, std::uint64_t generation, std::filesystem::path private_copy,
                  int pid, runtime::UniqueFd control,
                  std::vector<runtime::UniqueFd> channels, std::unique_ptr<FrameArena> arena);

private:
    void monitor();
    void ended(const std::string& reason, bool asked);
    int acquire_channel(std::chrono::steady_clock::time_point deadline, const std::string& on_timeout);
    void release_channel(int channel);
    // The worker broke a call (closed its channel, sent garbage): the cause once it has been reaped.
    [[noreturn]] void fail_after_end(const std::string& broken);

    WorkerOptions options_;
    std::uint64_t generation_;
    int pid_;
    runtime::UniqueFd control_;
    std::vector<runtime::UniqueFd> channels_;
    std::unique_ptr<FrameArena> arena_;
    WorkerHello hello_;
    std::promise<Message> hello_reply_;

    mutable std::mutex mutex_; // guards what follows
    std::condition_variable ended_cv_;
    std::condition_variable channel_freed_;
    std::vector<int> free_channels_;
    std::string kill_reason_; // set by kill(): replaces "killed by signal 9"
    std::filesystem::path shadow_copy_; // the worker's private copy of the plugin (named by the host), removed when it ends
    std::string end_reason_;
    std::chrono::steady_clock::time_point end_time_;
    bool ended_ = false;
    std::atomic<bool> stopping_{false}; // the host asked it to exit
    std::thread monitor_; // last: started once everything it uses exists
};

} // namespace ava::isolation
