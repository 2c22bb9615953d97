#include "live_streams.h"

#include "annotate.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ava::live {

LiveStream::LiveStream(std::uint64_t id, StreamIdentity identity) : id_(id), identity_(std::move(identity)) {}

void LiveStream::show(const frames::Frame& frame, const inferences::InferenceList& inferences) noexcept
{
    if (!wants_view() || frame.image.empty()) {
        return;
    }
    // One thread per interval draws: the one that moves the deadline on.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto due = next_picture_ns_.load(std::memory_order_relaxed);
    if (now < due || !next_picture_ns_.compare_exchange_strong(
                         due, now + std::chrono::duration_cast<std::chrono::nanoseconds>(view_interval).count())) {
        return;
    }
    try {
        auto bgr = to_bgr(frame);
        annotate(bgr, inferences);
        auto jpeg = std::make_shared<const std::string>(encode_jpeg(bgr));
        const std::lock_guard lock(picture_mutex_);
        picture_.jpeg = std::move(jpeg);
        ++picture_.sequence;
    } catch (const std::exception& e) {
        spdlog::debug("live view of stream {}: cannot draw a frame: {}", id_, e.what());
    }
}

Picture LiveStream::picture() const
{
    const std::lock_guard lock(picture_mutex_);
    return picture_;
}

std::shared_ptr<LiveStream> LiveStreams::open(StreamIdentity identity)
{
    const std::lock_guard lock(mutex_);
    const auto id = next_id_++;
    auto stream = std::make_shared<LiveStream>(id, std::move(identity));
    streams_.emplace(id, stream);
    return stream;
}

void LiveStreams::close(const std::shared_ptr<LiveStream>& stream)
{
    if (!stream) {
        return;
    }
    stream->end();
    const std::lock_guard lock(mutex_);
    streams_.erase(stream->id());
}

std::shared_ptr<LiveStream> LiveStreams::touch_http(const std::string& key, StreamIdentity identity)
{
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(mutex_);
    if (const auto known = http_ids_.find(key); known != http_ids_.end()) {
        const auto& stream = streams_.at(known->second);
        // The same identity on another route or analyzer (a reload) is a new stream.
        if (stream->identity().analyzer == identity.analyzer && stream->identity().route == identity.route) {
            stream->last_seen_ = now;
            return stream;
        }
        stream->end();
        streams_.erase(known->second);
        http_ids_.erase(known);
    }
    forget_stale_http(now);
    if (http_ids_.size() >= max_http_streams) {
        // Room for the newcomer: the least recently seen goes.
        const auto oldest = std::min_element(http_ids_.begin(), http_ids_.end(), [&](const auto& a, const auto& b) {
            return streams_.at(a.second)->last_seen_ < streams_.at(b.second)->last_seen_;
        });
        streams_.at(oldest->second)->end();
        streams_.erase(oldest->second);
        http_ids_.erase(oldest);
    }
    const auto id = next_id_++;
    auto stream = std::make_shared<LiveStream>(id, std::move(identity));
    streams_.emplace(id, stream);
    http_ids_.emplace(key, id);
    return stream;
}

void LiveStreams::forget_stale_http(std::chrono::steady_clock::time_point now)
{
    for (auto it = http_ids_.begin(); it != http_ids_.end();) {
        const auto& stream = streams_.at(it->second);
        if (now - stream->last_seen_ > http_recent) {
            stream->end();
            streams_.erase(it->second);
            it = http_ids_.erase(it);
        } else {
            ++it;
        }
    }
}

std::shared_ptr<LiveStream> LiveStreams::find(std::uint64_t id) const
{
    const std::lock_guard lock(mutex_);
    const auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
}

std::vector<LiveStreams::Listed> LiveStreams::list()
{
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(mutex_);
    forget_stale_http(now);
    std::vector<Listed> listed;
    for (const auto& [id, stream] : streams_) {
        // Frames per second since the previous listing at least a second ago (the page polls every 2 s).
        const std::chrono::duration<double> since = now - stream->rate_time_;
        const auto frames = stream->frames() + stream->errors();
        if (since >= std::chrono::seconds(1)) {
            stream->fps_ = static_cast<double>(frames - stream->rate_frames_) / since.count();
            stream->rate_frames_ = frames;
            stream->rate_time_ = now;
        } else if (stream->rate_frames_ == 0 && since.count() > 0) {
            stream->fps_ = static_cast<double>(frames) / std::max(since.count(), 0.1);
        }
        listed.push_back({stream, stream->fps_});
    }
    return listed;
}

} // namespace ava::live
