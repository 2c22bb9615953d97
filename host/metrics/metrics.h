#pragma once
// Metrics: the host's Prometheus metrics (GET /metrics), in one registry owned by the Host and passed down.
//
// The frame path touches only FrameSeries: pointers to its (protocol, route, analyzer) counters and
// histograms, looked up once per gRPC stream (per HTTP request: one small map lookup) and then held, so a
// frame costs a few atomic increments and three histogram observations. Everything that is a state rather
// than an event (frames in flight, open connections and streams, plugin counters, process RSS/CPU/fds) is
// read when scraped, from samplers the host registers: nothing on the frame path for those.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace ava::metrics {

enum class Protocol { http, grpc };

// What became of a frame. refused: the host had no room for it (HTTP 503, gRPC RESOURCE_EXHAUSTED).
// skipped: a gRPC frame acknowledged without analysis by its route's "latest" overload policy.
enum class Outcome { inferences, none, client_error, analyzer_error, refused, skipped };
inline constexpr std::size_t outcome_count = 6;

// One (protocol, route, analyzer)'s series; stable for the registry's lifetime.
struct FrameSeries {
    std::array<prometheus::Counter*, outcome_count> outcomes{};
    prometheus::Histogram* decode_seconds = nullptr;
    prometheus::Histogram* analysis_seconds = nullptr;
    prometheus::Histogram* receive_to_answer_seconds = nullptr;

    void count(Outcome outcome) const { outcomes[static_cast<std::size_t>(outcome)]->Increment(); }
};

inline double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class Metrics {
public:
    Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // The series for frames of this route and analyzer ("" for both: refused before routing).
    const FrameSeries& frames(Protocol protocol, std::string_view route, std::string_view analyzer);

    prometheus::Gauge& shared_memory_bytes() noexcept { return *shared_memory_bytes_; }

    // A value read at every scrape (gauge or counter, no labels). Register before serving.
    enum class Kind { gauge, counter };
    void add_sampler(std::string name, std::string help, Kind kind, std::function<double()> read);

    // The Prometheus text exposition of everything.
    std::string scrape() const;

    // Analysis time per analyzer (both protocols), for the live view.
    struct AnalyzerTimes {
        std::uint64_t frames = 0;
        double p50_ms = 0;
        double p99_ms = 0;
    };
    std::map<std::string, AnalyzerTimes> analysis_times() const;

private:
    struct Sampler {
        std::string name;
        std::string help;
        Kind kind;
        std::function<double()> read;
    };

    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Counter>& frames_total_;
    prometheus::Family<prometheus::Histogram>& decode_seconds_;
    prometheus::Family<prometheus::Histogram>& analysis_seconds_;
    prometheus::Family<prometheus::Histogram>& receive_to_answer_seconds_;
    prometheus::Gauge* shared_memory_bytes_;
    std::vector<Sampler> samplers_;

    mutable std::mutex mutex_; // guards series_
    std::map<std::tuple<Protocol, std::string, std::string>, std::unique_ptr<FrameSeries>> series_;
};

// Samplers every process has: resident memory, CPU seconds, open descriptors, start time.
void add_process_samplers(Metrics& metrics);

} // namespace ava::metrics
