#include "stream_registry.h"

#include "media_stream.h"

namespace ava::grpc_frontend {

bool StreamRegistry::add(MediaStream* stream)
{
    const std::lock_guard lock(mutex_);
    if (draining_) {
        return false;
    }
    streams_.insert(stream);
    return true;
}

void StreamRegistry::remove(MediaStream* stream)
{
    const std::lock_guard lock(mutex_);
    streams_.erase(stream);
    if (streams_.empty()) {
        emptied_.notify_all();
    }
}

bool StreamRegistry::wait_until_empty(std::chrono::steady_clock::time_point deadline)
{
    std::unique_lock lock(mutex_);
    return emptied_.wait_until(lock, deadline, [this] { return streams_.empty(); });
}

void StreamRegistry::drain_all()
{
    const std::lock_guard lock(mutex_);
    draining_ = true;
    for (auto* stream : streams_) {
        stream->drain();
    }
}

std::size_t StreamRegistry::size() const
{
    const std::lock_guard lock(mutex_);
    return streams_.size();
}

} // namespace ava::grpc_frontend
