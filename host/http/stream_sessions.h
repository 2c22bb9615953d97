#pragma once
// StreamSessions: analyzer sessions that outlive one HTTP request. A request that says which stream it
// belongs to (Intel's `?stream-id=`, or the live pipeline: `x-ms-live-pipeline` / `?pipeline=`) reaches the
// same analyzer session as the stream's earlier frames, so stateful analyzers (motion, trackers) work over
// HTTP as they do over gRPC. A session ends when its stream has been idle for `idle`, when the client ends
// it (an empty POST), or when the number of sessions is over `max_sessions` (the least recently used idle
// one goes first).

#include "loading/analyzer.h"
#include "routing/router.h"

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace ava::http {

// Every session is in use by a frame right now and the limit is reached: the host is busy (503).
class StreamSessionsFull : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class StreamSessions {
public:
    struct Limits {
        std::chrono::milliseconds idle{30000};
        std::size_t max_sessions = 256;
    };

    class Lease;

    explicit StreamSessions(Limits limits) : limits_(limits) {}
    StreamSessions(const StreamSessions&) = delete;
    StreamSessions& operator=(const StreamSessions&) = delete;

    // The stream's session for this route, opened if it has none (or the route now reaches another
    // analyzer or parameters), held for one frame: a stream's frames are analysed one at a time.
    // Throws AnalyzerError (opening), StreamSessionsFull.
    Lease acquire(const std::string& identity, const routing::RouteTarget& route, const loading::StreamInfo& info);

    // Ends every session of the stream; returns how many there were.
    std::size_t end(const std::string& identity);

    std::size_t size() const;

private:
    struct Entry {
        std::string identity;
        std::mutex frame_mutex; // one frame at a time per stream
        std::shared_ptr<loading::Analyzer> analyzer;
        std::string parameters_json;
        std::unique_ptr<loading::AnalyzerSession> session;
        std::chrono::steady_clock::time_point last_used;
    };
    using Entries = std::map<std::string, std::shared_ptr<Entry>>;

    // Takes the idle-too-long entries (and, when over the limit, least recently used unlocked ones) out
    // of `sessions_`; the caller closes them outside the lock (closing runs plugin code).
    std::vector<std::shared_ptr<Entry>> take_expired(std::chrono::steady_clock::time_point now, std::size_t room_for);

    Limits limits_;
    mutable std::mutex mutex_;
    Entries sessions_;

public:
    class Lease {
    public:
        loading::AnalyzerSession& session() const noexcept { return *entry_->session; }

    private:
        friend class StreamSessions;
        Lease(std::shared_ptr<Entry> entry, std::unique_lock<std::mutex> lock)
            : entry_(std::move(entry)), lock_(std::move(lock))
        {
        }
        std::shared_ptr<Entry> entry_;
        std::unique_lock<std::mutex> lock_; // entry_->frame_mutex
    };
};

} // namespace ava::http
