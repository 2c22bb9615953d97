#pragma once
// LiveStreams: what the live view shows (GET /streams, GET /streams/<id>/view): open gRPC streams and
// recently seen HTTP streams (those naming themselves with ?stream-id= or a live pipeline), with their
// figures, and the annotated frames of any stream somebody is watching.
//
// Watching costs nothing unless someone watches: the frame path asks wants_view(), one relaxed atomic
// load, and copies, draws and encodes a frame only when a viewer is attached and the last picture is
// older than the view's frame interval (at most 5 per second).

#include "frames/frame.h"
#include "inferences/inference.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ava::live {

struct StreamIdentity {
    std::string protocol; // "grpc" or "http"
    std::string pipeline;
    std::string node;
    std::string analyzer;
    std::string route;
};

// The latest annotated picture of a stream, as a JPEG.
struct Picture {
    std::uint64_t sequence = 0; // 0: none yet
    std::shared_ptr<const std::string> jpeg;
};

class LiveStream {
public:
    static constexpr auto view_interval = std::chrono::milliseconds(200);

    LiveStream(std::uint64_t id, StreamIdentity identity);

    std::uint64_t id() const noexcept { return id_; }
    const StreamIdentity& identity() const noexcept { return identity_; }
    std::chrono::system_clock::time_point started() const noexcept { return started_; }

    // Frame path.
    void frame_started() noexcept { in_flight_.fetch_add(1, std::memory_order_relaxed); }
    void frame_ended(bool ok) noexcept
    {
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
        (ok ? frames_ : errors_).fetch_add(1, std::memory_order_relaxed);
    }
    bool wants_view() const noexcept { return viewers_.load(std::memory_order_relaxed) != 0; }
    // Draws and encodes the frame if a viewer waits and the last picture is old enough; never throws.
    void show(const frames::Frame& frame, const inferences::InferenceList& inferences) noexcept;

    std::uint64_t frames() const noexcept { return frames_.load(std::memory_order_relaxed); }
    std::uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }
    std::int64_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

    // Viewers: a Viewer held for as long as an MJPEG response is open.
    class Viewer {
    public:
        explicit Viewer(std::shared_ptr<LiveStream> stream) : stream_(std::move(stream)) { ++stream_->viewers_; }
        Viewer(const Viewer&) = delete;
        Viewer& operator=(const Viewer&) = delete;
        ~Viewer() { --stream_->viewers_; }
        LiveStream& stream() const noexcept { return *stream_; }

    private:
        std::shared_ptr<LiveStream> stream_;
    };
    Picture picture() const;
    // The stream is over (gRPC stream finished): no more pictures will come.
    void end() noexcept { ended_ = true; }
    bool ended() const noexcept { return ended_; }

private:
    friend class LiveStreams;
    const std::uint64_t id_;
    const StreamIdentity identity_;
    const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
    std::atomic<std::uint64_t> frames_{0};
    std::atomic<std::uint64_t> errors_{0};
    std::atomic<std::int64_t> in_flight_{0};
    std::atomic<int> viewers_{0};
    std::atomic<bool> ended_{false};
    std::atomic<std::int64_t> next_picture_ns_{0}; // steady clock; claimed by the thread that draws

    mutable std::mutex picture_mutex_;
    Picture picture_;

    // Rate for the listing, under LiveStreams' mutex.
    std::chrono::steady_clock::time_point rate_time_ = std::chrono::steady_clock::now();
    std::uint64_t rate_frames_ = 0;
    double fps_ = 0;
    std::chrono::steady_clock::time_point last_seen_ = std::chrono::steady_clock::now(); // HTTP streams
};

class LiveStreams {
public:
    // HTTP streams drop out of the listing after this long without a frame.
    static constexpr auto http_recent = std::chrono::seconds(60);
    static constexpr std::size_t max_http_streams = 256;

    // A gRPC stream, listed until close().
    std::shared_ptr<LiveStream> open(StreamIdentity identity);
    void close(const std::shared_ptr<LiveStream>& stream);
    // An HTTP stream by its identity (?stream-id= or pipeline), created on its first frame.
    std::shared_ptr<LiveStream> touch_http(const std::string& key, StreamIdentity identity);

    std::shared_ptr<LiveStream> find(std::uint64_t id) const;

    struct Listed {
        std::shared_ptr<LiveStream> stream;
        double fps = 0;
    };
    std::vector<Listed> list();

private:
    void forget_stale_http(std::chrono::steady_clock::time_point now); // under the lock

    mutable std::mutex mutex_;
    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, std::shared_ptr<LiveStream>> streams_;
    std::map<std::string, std::uint64_t> http_ids_; // identity -> id
};

} // namespace ava::live
