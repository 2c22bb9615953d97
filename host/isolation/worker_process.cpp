#include "worker_process.h"

#include "loading/plugin_library.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace ava::isolation {
namespace {

// AddressSanitizer reserves terabytes of shadow memory, which RLIMIT_DATA counts: no limit in such builds.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif


std::string signal_name(int signal)
{
    const char* text = ::strsignal(signal);
    return "signal " + std::to_string(signal) + " (" + (text != nullptr ? text : "unknown") + ")";
}

// What a wait status says, in the words the operator reads.
std::string describe_end(int status, const rusage& usage, std::size_t memory_bytes)
{
    // ru_maxrss is in KiB. A worker that died with most of its limit resident ran out of memory, whatever
    // the signal says (a failed malloc shows up as SIGSEGV or SIGABRT in the plugin). Not all of the limit
    // can be resident: thread stacks and the libraries' data count against it too.
    const auto peak = static_cast<std::size_t>(usage.ru_maxrss) * 1024;
    if (memory_bytes != 0 && peak >= memory_bytes / 3 * 2) {
        return "its worker process exceeded its memory limit of " + std::to_string(memory_bytes >> 20) + " MiB";
    }
    if (WIFSIGNALED(status)) {
        return "its worker process was killed by " + signal_name(WTERMSIG(status));
    }
    if (WIFEXITED(status)) {
        return "its worker process exited with code " + std::to_string(WEXITSTATUS(status));
    }
    return "its worker process ended";
}

// Descriptors the worker finds at start (worker/main.cpp reads the same numbers): the control socket,
// the arena, then one socket per channel.
constexpr int worker_control_fd = 3;
constexpr int worker_arena_fd = 4;
constexpr int worker_first_channel_fd = 5;

[[noreturn]] void child(const std::vector<int>& fds, std::size_t memory_bytes, const std::vector<char*>& argv)
{
    // Only async-signal-safe calls between fork and exec: the host is multithreaded.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL); // the worker never outlives the host
    // Out of the way first (F_DUPFD above every target), then into place 3, 4, 5...; dup2 clears CLOEXEC.
    constexpr int high = 1024;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (::fcntl(fds[i], F_DUPFD, high + static_cast<int>(i)) != high + static_cast<int>(i)) {
            ::_exit(126);
        }
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (::dup2(high + static_cast<int>(i), worker_control_fd + static_cast<int>(i)) < 0) {
            ::_exit(126);
        }
    }
    // Nothing else the host holds (listening sockets, client connections, files) reaches the plugin.
    ::syscall(SYS_close_range, worker_control_fd + static_cast<unsigned>(fds.size()), ~0U, 0);
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (memory_bytes != 0 && !sanitized) {
        const rlimit limit{memory_bytes, memory_bytes};
        ::setrlimit(RLIMIT_DATA, &limit);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
}

std::pair<runtime::UniqueFd, runtime::UniqueFd> socket_pair()
{
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        throw std::system_error(errno, std::generic_category(), "socketpair for an analyzer worker");
    }
    return {runtime::UniqueFd(pair[0]), runtime::UniqueFd(pair[1])};
}

} // namespace

std::unique_ptr<WorkerProcess> WorkerProcess::start(const WorkerOptions& options, std::uint64_t generation)
{
    static_assert(worker_arena_fd == worker_control_fd + 1 && worker_first_channel_fd == worker_arena_fd + 1);
    auto arena = std::make_unique<FrameArena>(options.arena_bytes);
    auto [control, worker_control] = socket_pair();
    std::vector<runtime::UniqueFd> channels;
    std::vector<runtime::UniqueFd> worker_channels;
    for (unsigned i = 0; i < std::max(1u, options.threads); ++i) {
        auto [host_end, worker_end] = socket_pair();
        channels.push_back(std::move(host_end));
        worker_channels.push_back(std::move(worker_end));
    }
    std::vector<int> child_fds = {worker_control.get(), arena->fd()};
    for (const auto& fd : worker_channels) {
        child_fds.push_back(fd.get());
    }
    // The host names the worker's private copy: it removes that file when the worker ends, whatever it says.
    const auto private_copy = loading::unique_copy_name(options.shown_as, options.shadow_dir);
    std::vector<std::string> args = {options.executable.string(),
                                     "--plugin",
                                     options.plugin.string(),
                                     "--shown-as",
                                     options.shown_as.string(),
                                     "--copy-as",
                                     private_copy.string(),
                                     "--shadow-dir",
                                     options.shadow_dir.string(),
                                     "--channels",
                                     std::to_string(channels.size()),
                                     "--arena-bytes",
                                     std::to_string(arena->size())};
    std::vector<char*> argv;
    for (auto& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const int pid = ::fork();
    if (pid < 0) {
        throw std::system_error(errno, std::generic_category(), "fork for an analyzer worker");
    }
    if (pid == 0) {
        child(child_fds, options.memory_bytes, argv);
    }
    worker_control.reset();
    worker_channels.clear();
    auto future = std::future<Message>();
    auto worker = std::make_unique<WorkerProcess>(options, generation, private_copy, pid, std::move(control),
                                                  std::move(channels), std::move(arena));
    future = worker->hello_reply_.get_future();
    if (future.wait_for(options.load_timeout) != std::future_status::ready) {
        worker->kill("loading the plugin took longer than its " + std::to_string(options.load_timeout.count()) +
                     " ms load deadline");
    }
    worker->hello_ = read_hello(future.get(), private_copy); // throws what ended the worker, or its refusal
    return worker;
}

WorkerProcess::WorkerProcess(const WorkerOptions& options, std::uint64_t generation, std::filesystem::path private_copy,
                             int pid, runtime::UniqueFd control, std::vector<runtime::UniqueFd> channels,
                             std::unique_ptr<FrameArena> arena)
    : options_(options), generation_(generation), pid_(pid), control_(std::move(control)),
      channels_(std::move(channels)), arena_(std::move(arena)), shadow_copy_(std::move(private_copy)),
      monitor_([this] { monitor(); })
{
    for (const auto& channel : channels_) {
        free_channels_.push_back(channel.get());
    }
}

WorkerProcess::~WorkerProcess()
{
    // End of input asks the worker to exit; a plugin stuck in a call cannot hear it, so the kill follows.
    stopping_ = true;
    ::shutdown(control_.get(), SHUT_WR);
    for (const auto& channel : channels_) {
        ::shutdown(channel.get(), SHUT_WR);
    }
    {
        std::unique_lock lock(mutex_);
        if (!ended_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return ended_; })) {
            lock.unlock();
            kill("stopped by the host");
        }
    }
    monitor_.join();
}

int WorkerProcess::acquire_channel(std::chrono::steady_clock::time_point deadline, const std::string& on_timeout)
{
    std::unique_lock lock(mutex_);
    // Never empty for long: the host makes no more calls at once than there are channels.
    if (!channel_freed_.wait_until(lock, deadline, [this] { return ended_ || !free_channels_.empty(); })) {
        lock.unlock();
        kill(on_timeout);
        lock.lock();
        ended_cv_.wait_for(lock, std::chrono::seconds(2), [this] { return ended_; });
    }
    if (ended_) {
        throw WorkerFailure(end_reason_, !kill_reason_.empty());
    }
    const int channel = free_channels_.back();
    free_channels_.pop_back();
    return channel;
}

void WorkerProcess::release_channel(int channel)
{
    {
        std::lock_guard lock(mutex_);
        free_channels_.push_back(channel);
    }
    channel_freed_.notify_one();
}

void WorkerProcess::fail_after_end(const std::string& broken)
{
    std::unique_lock lock(mutex_);
    if (!ended_cv_.wait_for(lock, std::chrono::seconds(2), [this] { return ended_; })) {
        // Alive, yet it broke a call: a worker that no longer follows the protocol is of no further use.
        lock.unlock();
        kill("its worker process broke the protocol: " + broken);
        lock.lock();
        ended_cv_.wait(lock, [this] { return ended_; });
    }
    throw WorkerFailure(end_reason_, !kill_reason_.empty());
}

Message WorkerProcess::call(MessageKind kind, const std::string& payload, std::chrono::milliseconds timeout,
                            const std::string& on_timeout, int fd)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const int channel = acquire_channel(deadline, on_timeout);
    // On any failure the channel is not given back: the worker is dead or about to be.
    std::string broken;
    Message reply;
    try {
        send_message(channel, MessageHeader{0, kind, 0}, payload, fd);
        for (;;) {
            pollfd ready{channel, POLLIN, 0};
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            const int n = ::poll(&ready, 1, static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0)));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n == 0) {
                kill(on_timeout);
                fail_after_end("deadline");
            }
            break;
        }
        if (!receive_message(channel, reply)) {
            broken = "it closed a call's channel";
        } else if (reply.header.kind != kind) {
            broken = "it answered a different request";
        }
    } catch (const WireError& e) {
        broken = e.what();
    }
    if (!broken.empty()) {
        fail_after_end(broken);
    }
    release_channel(channel);
    return reply;
}

bool WorkerProcess::alive() const
{
    std::lock_guard lock(mutex_);
    return !ended_;
}

std::string WorkerProcess::end_reason() const
{
    std::lock_guard lock(mutex_);
    return end_reason_;
}

std::chrono::steady_clock::time_point WorkerProcess::end_time() const
{
    std::lock_guard lock(mutex_);
    return end_time_;
}

void WorkerProcess::kill(const std::string& reason)
{
    {
        std::lock_guard lock(mutex_);
        if (ended_) {
            return;
        }
        if (kill_reason_.empty()) {
            kill_reason_ = reason;
        }
    }
    ::kill(pid_, SIGKILL); // the pid is ours until the reader thread reaps it, which needs ended_
}

void WorkerProcess::monitor()
{
    std::string failure;
    try {
        Message message;
        // The hello, then nothing until the worker ends (the socket closes when it dies).
        if (receive_message(control_.get(), message)) {
            hello_reply_.set_value(std::move(message));
            while (receive_message(control_.get(), message)) {
            }
        }
    } catch (const WireError& e) {
        failure = e.what();
    }
    ::kill(pid_, SIGKILL); // make sure it is gone, then reap it
    int status = 0;
    rusage usage{};
    while (::wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    std::string reason;
    {
        std::lock_guard lock(mutex_);
        reason = !kill_reason_.empty() ? kill_reason_ : describe_end(status, usage, options_.memory_bytes);
        if (!failure.empty() && kill_reason_.empty()) {
            reason += " (after a broken message: " + failure + ")";
        }
    }
    ended(reason, stopping_ && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void WorkerProcess::ended(const std::string& reason, bool asked)
{
    bool deadline;
    std::filesystem::path shadow_copy;
    {
        std::lock_guard lock(mutex_);
        shadow_copy = shadow_copy_;
        deadline = !kill_reason_.empty();
        ended_ = true;
        end_reason_ = reason;
        end_time_ = std::chrono::steady_clock::now();
    }
    ended_cv_.notify_all();
    channel_freed_.notify_all();
    try {
        hello_reply_.set_exception(std::make_exception_ptr(WorkerFailure(reason, deadline))); // if still waited for
    } catch (const std::future_error&) {
        // the hello came: nothing waits on it
    }
    // The worker's private copy of the plugin (it cannot remove it itself when it is killed).
    std::error_code ignored;
    if (!shadow_copy.empty()) {
        std::filesystem::remove(shadow_copy, ignored);
    }
    if (asked) {
        spdlog::debug("analyzer worker {} (pid {}) for {} exited", generation_, pid_, options_.label);
        return;
    }
    spdlog::log(deadline ? spdlog::level::warn : spdlog::level::err, "analyzer worker {} (pid {}) for {}: {}",
                generation_, pid_, options_.label, reason);
}

} // namespace ava::isolation
