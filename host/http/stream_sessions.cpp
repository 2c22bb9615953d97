#include "stream_sessions.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ava::http {

std::vector<std::shared_ptr<StreamSessions::Entry>> StreamSessions::take_expired(std::chrono::steady_clock::time_point now,
                                                                                 std::size_t room_for)
{
    std::vector<std::shared_ptr<Entry>> taken;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        // An entry whose frame lock is held is in use (last_used is only touched under that lock).
        std::unique_lock frame(it->second->frame_mutex, std::try_to_lock);
        if (frame.owns_lock() && now - it->second->last_used > limits_.idle) {
            frame.unlock();
            taken.push_back(std::move(it->second));
            it = sessions_.erase(it);
        } else {
            ++it;
        }
    }
    while (sessions_.size() + room_for > limits_.max_sessions) {
        auto oldest = sessions_.end();
        for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
            std::unique_lock frame(it->second->frame_mutex, std::try_to_lock);
            if (frame.owns_lock() && (oldest == sessions_.end() || it->second->last_used < oldest->second->last_used)) {
                oldest = it;
            }
        }
        if (oldest == sessions_.end()) {
            break; // all busy
        }
        taken.push_back(std::move(oldest->second));
        sessions_.erase(oldest);
    }
    return taken;
}

StreamSessions::Lease StreamSessions::acquire(const std::string& identity, const routing::RouteTarget& route,
                                              const loading::StreamInfo& info)
{
    const auto now = std::chrono::steady_clock::now();
    const auto key = identity + '\n' + route.route;
    std::shared_ptr<Entry> entry;
    std::vector<std::shared_ptr<Entry>> expired;
    {
        const std::scoped_lock lock(mutex_);
        auto found = sessions_.find(key);
        expired = take_expired(now, found == sessions_.end() ? 1 : 0);
        found = sessions_.find(key); // it may have expired just now
        if (found != sessions_.end()) {
            entry = found->second;
        } else {
            if (sessions_.size() >= limits_.max_sessions) {
                throw StreamSessionsFull("server busy: " + std::to_string(limits_.max_sessions) +
                                         " HTTP stream sessions are analysing frames, retry later");
            }
            entry = std::make_shared<Entry>();
            entry->identity = identity;
            sessions_.emplace(key, entry);
        }
    }
    expired.clear(); // closes their analyzer sessions, outside the map's lock
    std::unique_lock frame(entry->frame_mutex);
    // A hot reload or a new configuration may route this stream to another analyzer version or parameters:
    // the stream continues on a new session there, as a new gRPC stream would.
    if (!entry->session || entry->analyzer != route.analyzer || entry->parameters_json != route.parameters_json) {
        entry->session.reset();
        entry->analyzer = route.analyzer;
        entry->parameters_json = route.parameters_json;
        try {
            entry->session = route.analyzer->open_session(info);
        } catch (...) {
            entry->analyzer.reset();
            throw; // the empty entry expires like any idle one
        }
        spdlog::debug("HTTP stream '{}' opened a session on analyzer '{}'", identity, route.analyzer->name());
    }
    entry->last_used = now;
    return Lease(std::move(entry), std::move(frame));
}

std::size_t StreamSessions::end(const std::string& identity)
{
    std::vector<std::shared_ptr<Entry>> ended;
    {
        const std::scoped_lock lock(mutex_);
        for (auto it = sessions_.begin(); it != sessions_.end();) {
            if (it->second->identity == identity) {
                ended.push_back(std::move(it->second));
                it = sessions_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto& entry : ended) {
        const std::scoped_lock frame(entry->frame_mutex); // let a frame in analysis finish first
        entry->session.reset();
    }
    return ended.size();
}

std::size_t StreamSessions::size() const
{
    const std::scoped_lock lock(mutex_);
    return sessions_.size();
}

} // namespace ava::http
