#include "worker_process.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
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

// Descriptors the worker finds at start (worker/main.cpp reads the same numbers).
constexpr int worker_socket_fd = 3;
constexpr int worker_arena_fd = 4;

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

[[noreturn]] void child(int socket, int arena, std::size_t memory_bytes, const std::vector<char*>& argv)
{
    // Only async-signal-safe calls between fork and exec: the host is multithreaded.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL); // the worker never outlives the host
    const int s = ::fcntl(socket, F_DUPFD, 10);
    const int a = ::fcntl(arena, F_DUPFD, 10);
    if (s < 0 || a < 0 || ::dup2(s, worker_socket_fd) < 0 || ::dup2(a, worker_arena_fd) < 0) {
        ::_exit(126);
    }
    // Nothing else the host holds (listening sockets, client connections, files) reaches the plugin.
    ::syscall(SYS_close_range, worker_arena_fd + 1, ~0U, 0);
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

WorkerHello read_hello(const Message& message)
{
    Reader r(message.payload);
    if (!r.get_present()) {
        throw WorkerLoadRefused(std::string(r.get_string()));
    }
    WorkerHello hello;
    hello.name = r.get_string();
    hello.version = r.get_string();
    hello.description = r.get_string();
    hello.loaded_path = r.get_string();
    hello.abi_major = r.get<std::uint32_t>();
    hello.abi_minor = r.get<std::uint32_t>();
    hello.concurrency = static_cast<ava_concurrency>(r.get<std::int32_t>());
    return hello;
}

} // namespace

std::unique_ptr<WorkerProcess> WorkerProcess::start(const WorkerOptions& options, std::uint64_t generation)
{
    auto arena = std::make_unique<FrameArena>(options.arena_bytes);
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        throw std::system_error(errno, std::generic_category(), "socketpair for an analyzer worker");
    }
    runtime::UniqueFd host_end(pair[0]);
    runtime::UniqueFd worker_end(pair[1]);
    std::vector<std::string> args = {options.executable.string(),
                                     "--plugin",
                                     options.plugin.string(),
                                     "--shadow-dir",
                                     options.shadow_dir.string(),
                                     "--threads",
                                     std::to_string(options.threads),
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
        child(worker_end.get(), arena->fd(), options.memory_bytes, argv);
    }
    worker_end.reset();
    auto worker = std::make_unique<WorkerProcess>(options, generation, pid, std::move(host_end), std::move(arena));
    // The hello is the reply to request 0, which nobody sent: the worker sends it after loading the plugin.
    std::promise<Message> hello;
    auto future = hello.get_future();
    {
        std::lock_guard lock(worker->mutex_);
        worker->waiting_.emplace(0, std::move(hello));
    }
    if (future.wait_for(options.load_timeout) != std::future_status::ready) {
        worker->kill("loading the plugin took longer than its " + std::to_string(options.load_timeout.count()) +
                     " ms load deadline");
    }
    worker->hello_ = read_hello(future.get()); // throws what ended the worker, or its refusal
    {
        std::lock_guard lock(worker->mutex_);
        worker->shadow_copy_ = worker->hello_.loaded_path;
    }
    return worker;
}

WorkerProcess::WorkerProcess(const WorkerOptions& options, std::uint64_t generation, int pid,
                             runtime::UniqueFd socket, std::unique_ptr<FrameArena> arena)
    : options_(options), generation_(generation), pid_(pid), socket_(std::move(socket)), arena_(std::move(arena)),
      reader_([this] { read_replies(); })
{
}

WorkerProcess::~WorkerProcess()
{
    // End of input asks the worker to exit; a plugin stuck in a call cannot hear it, so the kill follows.
    stopping_ = true;
    ::shutdown(socket_.get(), SHUT_WR);
    {
        std::unique_lock lock(mutex_);
        if (!ended_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return ended_; })) {
            lock.unlock();
            kill("stopped by the host");
        }
    }
    reader_.join();
}

Message WorkerProcess::call(MessageKind kind, const std::string& payload, std::chrono::milliseconds timeout,
                            const std::string& on_timeout, int fd)
{
    std::future<Message> reply;
    std::uint64_t id;
    {
        std::lock_guard lock(mutex_);
        if (ended_) {
            throw WorkerFailure(end_reason_, false);
        }
        id = next_id_++;
        reply = waiting_[id].get_future();
    }
    try {
        std::lock_guard lock(write_mutex_);
        send_message(socket_.get(), MessageHeader{id, kind, 0}, payload, fd);
    } catch (const WireError&) {
        // The worker is gone or going: its reader fails this call with the reason.
    }
    if (reply.wait_for(timeout) != std::future_status::ready) {
        kill(on_timeout);
    }
    return reply.get();
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

void WorkerProcess::read_replies()
{
    std::string failure;
    try {
        Message message;
        while (receive_message(socket_.get(), message)) {
            std::promise<Message> waiting;
            {
                std::lock_guard lock(mutex_);
                const auto it = waiting_.find(message.header.request_id);
                if (it == waiting_.end()) {
                    continue; // a reply nobody waits for: the caller gave up
                }
                waiting = std::move(it->second);
                waiting_.erase(it);
            }
            waiting.set_value(std::move(message));
            message = Message{};
        }
    } catch (const WireError& e) {
        failure = e.what();
    }
    // The socket ended: the worker exited, crashed or was killed. Make sure it is gone, then reap it.
    ::kill(pid_, SIGKILL);
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
    std::map<std::uint64_t, std::promise<Message>> waiting;
    bool deadline;
    std::filesystem::path shadow_copy;
    {
        std::lock_guard lock(mutex_);
        shadow_copy = shadow_copy_;
        deadline = !kill_reason_.empty();
        ended_ = true;
        end_reason_ = reason;
        end_time_ = std::chrono::steady_clock::now();
        waiting.swap(waiting_);
    }
    ended_cv_.notify_all();
    for (auto& [id, promise] : waiting) {
        promise.set_exception(std::make_exception_ptr(WorkerFailure(reason, deadline)));
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
