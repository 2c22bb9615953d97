#include "metrics.h"

#include <prometheus/text_serializer.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>

namespace ava::metrics {
namespace {

// Seconds: from a sub-millisecond raw-frame analysis to a slow detector on a big frame.
const prometheus::Histogram::BucketBoundaries& time_buckets()
{
    static const prometheus::Histogram::BucketBoundaries buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                                 0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
    return buckets;
}

constexpr std::array<const char*, outcome_count> outcome_names{"inferences", "none", "client_error", "analyzer_error",
                                                               "refused", "skipped"};

const char* protocol_name(Protocol protocol) { return protocol == Protocol::http ? "http" : "grpc"; }

// The q-quantile of a cumulative-bucket histogram, interpolated within the bucket as Prometheus'
// histogram_quantile() does.
double quantile(double q, const std::vector<prometheus::ClientMetric::Bucket>& buckets, std::uint64_t count)
{
    if (count == 0) {
        return 0;
    }
    const double rank = q * static_cast<double>(count);
    double lower_bound = 0;
    std::uint64_t lower_count = 0;
    for (const auto& bucket : buckets) {
        if (static_cast<double>(bucket.cumulative_count) >= rank) {
            if (bucket.upper_bound == std::numeric_limits<double>::infinity()) {
                return lower_bound; // above the last finite bound: the best we can say
            }
            const auto in_bucket = static_cast<double>(bucket.cumulative_count - lower_count);
            return lower_bound + (bucket.upper_bound - lower_bound) *
                                     (in_bucket == 0 ? 1 : (rank - static_cast<double>(lower_count)) / in_bucket);
        }
        lower_bound = bucket.upper_bound;
        lower_count = bucket.cumulative_count;
    }
    return lower_bound;
}

} // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      frames_total_(prometheus::BuildCounter()
                        .Name("ava_frames_total")
                        .Help("Frames answered, by protocol, route, analyzer and outcome")
                        .Register(*registry_)),
      decode_seconds_(prometheus::BuildHistogram()
                          .Name("ava_frame_decode_seconds")
                          .Help("Time to turn a received frame into pixels (image decode or raw wrap)")
                          .Register(*registry_)),
      analysis_seconds_(prometheus::BuildHistogram()
                            .Name("ava_frame_analysis_seconds")
                            .Help("Time the analyzer took on a frame")
                            .Register(*registry_)),
      receive_to_answer_seconds_(prometheus::BuildHistogram()
                                     .Name("ava_frame_receive_to_answer_seconds")
                                     .Help("From a frame received to its answer handed to the transport")
                                     .Register(*registry_)),
      shared_memory_bytes_(&prometheus::BuildGauge()
                                .Name("ava_shared_memory_mapped_bytes")
                                .Help("Bytes of senders' shared memory mapped by open gRPC streams")
                                .Register(*registry_)
                                .Add({}))
{
}

const FrameSeries& Metrics::frames(Protocol protocol, std::string_view route, std::string_view analyzer)
{
    auto key = std::make_tuple(protocol, std::string(route), std::string(analyzer));
    const std::lock_guard lock(mutex_);
    auto& series = series_[key];
    if (!series) {
        series = std::make_unique<FrameSeries>();
        const std::string protocol_label = protocol_name(protocol);
        for (std::size_t i = 0; i < outcome_count; ++i) {
            series->outcomes[i] = &frames_total_.Add({{"protocol", protocol_label},
                                                      {"route", std::get<1>(key)},
                                                      {"analyzer", std::get<2>(key)},
                                                      {"outcome", outcome_names[i]}});
        }
        const prometheus::Labels by_analyzer{{"protocol", protocol_label}, {"analyzer", std::get<2>(key)}};
        series->decode_seconds = &decode_seconds_.Add(by_analyzer, time_buckets());
        series->analysis_seconds = &analysis_seconds_.Add(by_analyzer, time_buckets());
        series->receive_to_answer_seconds = &receive_to_answer_seconds_.Add(by_analyzer, time_buckets());
    }
    return *series;
}

void Metrics::add_sampler(std::string name, std::string help, Kind kind, std::function<double()> read)
{
    samplers_.push_back({std::move(name), std::move(help), kind, std::move(read)});
}

std::string Metrics::scrape() const
{
    auto families = registry_->Collect();
    for (const auto& sampler : samplers_) {
        prometheus::MetricFamily family;
        family.name = sampler.name;
        family.help = sampler.help;
        prometheus::ClientMetric metric;
        const double value = sampler.read();
        if (sampler.kind == Kind::counter) {
            family.type = prometheus::MetricType::Counter;
            metric.counter.value = value;
        } else {
            family.type = prometheus::MetricType::Gauge;
            metric.gauge.value = value;
        }
        family.metric.push_back(std::move(metric));
        families.push_back(std::move(family));
    }
    return prometheus::TextSerializer().Serialize(families);
}

std::map<std::string, Metrics::AnalyzerTimes> Metrics::analysis_times() const
{
    // Both protocols' histograms of an analyzer, added bucket by bucket (they share the boundaries).
    struct Sum {
        std::uint64_t count = 0;
        std::vector<prometheus::ClientMetric::Bucket> buckets;
    };
    std::map<std::string, Sum> sums;
    for (const auto& family : analysis_seconds_.Collect()) {
        for (const auto& metric : family.metric) {
            const auto label = std::find_if(metric.label.begin(), metric.label.end(),
                                            [](const auto& l) { return l.name == "analyzer"; });
            if (label == metric.label.end() || label->value.empty()) {
                continue;
            }
            auto& sum = sums[label->value];
            sum.count += metric.histogram.sample_count;
            if (sum.buckets.empty()) {
                sum.buckets = metric.histogram.bucket;
            } else {
                for (std::size_t i = 0; i < sum.buckets.size() && i < metric.histogram.bucket.size(); ++i) {
                    sum.buckets[i].cumulative_count += metric.histogram.bucket[i].cumulative_count;
                }
            }
        }
    }
    std::map<std::string, AnalyzerTimes> times;
    for (const auto& [name, sum] : sums) {
        times[name] = {sum.count, 1000 * quantile(0.5, sum.buckets, sum.count), 1000 * quantile(0.99, sum.buckets, sum.count)};
    }
    return times;
}

void add_process_samplers(Metrics& metrics)
{
    metrics.add_sampler("process_resident_memory_bytes", "Resident memory size in bytes", Metrics::Kind::gauge, [] {
        std::ifstream statm("/proc/self/statm");
        double size = 0;
        double resident = 0;
        statm >> size >> resident;
        return resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
    });
    metrics.add_sampler("process_cpu_seconds_total", "User and system CPU time spent in seconds",
                        Metrics::Kind::counter, [] {
                            rusage usage{};
                            ::getrusage(RUSAGE_SELF, &usage);
                            const auto seconds = [](const timeval& t) {
                                return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
                            };
                            return seconds(usage.ru_utime) + seconds(usage.ru_stime);
                        });
    metrics.add_sampler("process_open_fds", "Open file descriptors", Metrics::Kind::gauge, [] {
        std::error_code ec;
        double count = 0;
        for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
            ++count;
        }
        return count;
    });
    const auto started = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                                 std::chrono::system_clock::now().time_since_epoch())
                                                 .count());
    metrics.add_sampler("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds",
                        Metrics::Kind::gauge, [started] { return started; });
}

} // namespace ava::metrics
