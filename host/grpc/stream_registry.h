#pragma once
// StreamRegistry: the server's live streams, so shutdown can drain them and stop admitting new ones.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <unordered_set>

namespace ava::grpc_frontend {

class MediaStream;

class StreamRegistry {
public:
    // False once draining began: the caller refuses the stream.
    bool add(MediaStream* stream);
    void remove(MediaStream* stream);
    // Refuses new streams and drains the open ones (each finishes once its in-flight frames are acked).
    void drain_all();
    // Waits until every stream has been freed, or the deadline passes; true when none is left.
    bool wait_until_empty(std::chrono::steady_clock::time_point deadline);
    std::size_t size() const;

private:
    mutable std::mutex mutex_; // held while draining, so no stream is freed mid-call
    std::condition_variable emptied_;
    std::unordered_set<MediaStream*> streams_;
    bool draining_ = false;
};

} // namespace ava::grpc_frontend
