#pragma once
// Telemetry: what the front-ends report frames to — the host's metrics and its live streams. Owned by the
// Host and passed down by reference; front-ends built without it (unit tests, fuzzers) report nothing.

#include "live_streams.h"

#include "metrics/metrics.h"

namespace ava::live {

struct Telemetry {
    metrics::Metrics& metrics;
    LiveStreams& streams;
};

// A frame being analysed for a live stream: in flight until destroyed, an error unless marked ok.
class FrameInFlight {
public:
    explicit FrameInFlight(LiveStream* stream) noexcept : stream_(stream)
    {
        if (stream_ != nullptr) {
            stream_->frame_started();
        }
    }
    FrameInFlight(const FrameInFlight&) = delete;
    FrameInFlight& operator=(const FrameInFlight&) = delete;
    ~FrameInFlight()
    {
        if (stream_ != nullptr) {
            stream_->frame_ended(ok_);
        }
    }
    void succeeded() noexcept { ok_ = true; }

private:
    LiveStream* stream_;
    bool ok_ = false;
};

// GET /streams: the live streams and, per analyzer, frames and analysis-time percentiles.
std::string streams_json(LiveStreams& streams, const metrics::Metrics& metrics);

// GET / and /ui: the live view's page (HTML, CSS and JavaScript in one, nothing fetched from elsewhere).
std::string_view ui_page() noexcept;

} // namespace ava::live
