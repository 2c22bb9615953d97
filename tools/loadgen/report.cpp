#include "report.h"

#include <rapidjson/ostreamwrapper.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <string>
#include <vector>

namespace ava::loadgen {
namespace {

std::string fixed(double value, int decimals)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

struct Derived {
    double fps = 0;
    double mb_per_s = 0;
    std::optional<double> host_cpu_us_per_frame;
    std::optional<double> host_cpu_cores;
    LatencySummary latency;
};

Derived derive(RunReport& r)
{
    Derived d;
    d.fps = r.frames_per_second();
    d.mb_per_s = r.measured_seconds > 0 ? static_cast<double>(r.stats.bytes_measured) / 1e6 / r.measured_seconds : 0;
    if (r.host_before && r.host_after && r.stats.frames_measured > 0) {
        const double cpu = r.host_after->cpu_seconds - r.host_before->cpu_seconds;
        d.host_cpu_us_per_frame = cpu * 1e6 / static_cast<double>(r.stats.frames_measured);
        d.host_cpu_cores = r.measured_seconds > 0 ? cpu / r.measured_seconds : 0;
    }
    d.latency = summarize(r.stats.latencies_us);
    return d;
}

std::string describe(const LoadOptions& o)
{
    std::string text = name_of(o.protocol);
    if (o.protocol == Protocol::grpc) {
        text += " " + name_of(o.transfer) + " window " + std::to_string(o.window);
    } else {
        text += " " + o.path;
    }
    text += ", " + name_of(o.encoding) + (o.encoding == Encoding::raw ? " " + name_of(o.pixel_format) : "") + " " +
            std::to_string(o.width) + "x" + std::to_string(o.height) + ", " + std::to_string(o.streams) +
            (o.protocol == Protocol::grpc ? " stream(s)" : " connection(s)") +
            (o.fps > 0 ? " at " + fixed(o.fps, 1) + " fps" : ", as fast as acknowledged");
    return text;
}

std::string comma_separated(const std::vector<unsigned>& indices)
{
    std::string text;
    for (const auto index : indices) {
        text += (text.empty() ? "" : ", ") + std::to_string(index);
    }
    return text;
}

} // namespace

std::string silent_streams_summary(const RunReport& r)
{
    const auto& silent = r.stats.silent_streams;
    if (silent.empty()) {
        return {};
    }
    return std::to_string(silent.size()) + " of " + std::to_string(r.options.streams) +
           (r.options.protocol == Protocol::grpc ? " streams" : " connections") +
           " got no acknowledgement: " + comma_separated(silent);
}

void print_table(std::ostream& out, RunReport& r)
{
    const auto d = derive(r);
    out << "ava-loadgen: " << describe(r.options) << '\n'
        << "  frames sent / acked      " << r.stats.frames_sent << " / " << r.stats.frames_acked << '\n'
        << "  measured                 " << r.stats.frames_measured << " frames in " << fixed(r.measured_seconds, 2)
        << " s\n"
        << "  frames/s                 " << fixed(d.fps, 1) << '\n'
        << "  MB/s                     " << fixed(d.mb_per_s, 1) << "  (" << r.frame_bytes << " bytes/frame)\n"
        << "  latency us p50/p90/p99   " << fixed(d.latency.p50_us, 0) << " / " << fixed(d.latency.p90_us, 0) << " / "
        << fixed(d.latency.p99_us, 0) << '\n'
        << "  latency us p99.9/max     " << fixed(d.latency.p999_us, 0) << " / " << fixed(d.latency.max_us, 0) << '\n';
    if (d.host_cpu_us_per_frame) {
        out << "  host CPU us/frame        " << fixed(*d.host_cpu_us_per_frame, 1) << "  (" << fixed(*d.host_cpu_cores, 2)
            << " cores)\n";
    }
    if (r.stats.frames_measured > 0) {
        out << "  loadgen CPU us/frame     " << fixed(r.self_cpu_seconds * 1e6 / static_cast<double>(r.stats.frames_measured), 1)
            << '\n';
    }
    if (r.host_after) {
        out << "  host RSS MiB             " << fixed(static_cast<double>(r.host_after->rss_bytes) / 1048576.0, 1) << '\n';
    }
    if (r.stats.errors.empty()) {
        out << "  errors                   none\n";
    }
    for (const auto& [kind, count] : r.stats.errors) {
        out << "  error " << kind << ": " << count << "  (first: " << r.stats.error_examples[kind] << ")\n";
    }
    if (const auto silent = silent_streams_summary(r); !silent.empty()) {
        out << "  unanswered               " << silent << '\n';
    }
    out << "  result                   " << (r.clean() ? "OK" : "FAILED") << '\n';
}

void print_json(std::ostream& out, RunReport& r)
{
    const auto d = derive(r);
    const auto& o = r.options;
    rapidjson::OStreamWrapper stream(out);
    rapidjson::Writer<rapidjson::OStreamWrapper> w(stream);
    w.StartObject();
    w.Key("protocol");
    w.String(name_of(o.protocol).c_str());
    if (o.protocol == Protocol::grpc) {
        w.Key("transfer");
        w.String(name_of(o.transfer).c_str());
        w.Key("window");
        w.Uint(o.window);
    } else {
        w.Key("path");
        w.String(o.path.c_str());
    }
    w.Key("encoding");
    w.String(name_of(o.encoding).c_str());
    w.Key("width");
    w.Uint(o.width);
    w.Key("height");
    w.Uint(o.height);
    w.Key("streams");
    w.Uint(o.streams);
    w.Key("target_fps");
    w.Double(o.fps);
    w.Key("frame_bytes");
    w.Uint64(r.frame_bytes);
    w.Key("frames_sent");
    w.Uint64(r.stats.frames_sent);
    w.Key("frames_acked");
    w.Uint64(r.stats.frames_acked);
    w.Key("frames_measured");
    w.Uint64(r.stats.frames_measured);
    w.Key("seconds");
    w.Double(r.measured_seconds);
    w.Key("fps");
    w.Double(d.fps);
    w.Key("mb_per_s");
    w.Double(d.mb_per_s);
    w.Key("latency_us");
    w.StartObject();
    w.Key("p50");
    w.Double(d.latency.p50_us);
    w.Key("p90");
    w.Double(d.latency.p90_us);
    w.Key("p99");
    w.Double(d.latency.p99_us);
    w.Key("p99_9");
    w.Double(d.latency.p999_us);
    w.Key("max");
    w.Double(d.latency.max_us);
    w.Key("mean");
    w.Double(d.latency.mean_us);
    w.EndObject();
    if (d.host_cpu_us_per_frame) {
        w.Key("host_cpu_us_per_frame");
        w.Double(*d.host_cpu_us_per_frame);
        w.Key("host_cpu_cores");
        w.Double(*d.host_cpu_cores);
    }
    w.Key("loadgen_cpu_us_per_frame");
    w.Double(r.stats.frames_measured > 0 ? r.self_cpu_seconds * 1e6 / static_cast<double>(r.stats.frames_measured) : 0);
    if (r.host_after) {
        w.Key("host_rss_bytes");
        w.Uint64(r.host_after->rss_bytes);
    }
    w.Key("errors");
    w.StartObject();
    for (const auto& [kind, count] : r.stats.errors) {
        w.Key(kind.c_str());
        w.Uint64(count);
    }
    w.EndObject();
    w.Key("error_examples");
    w.StartObject();
    for (const auto& [kind, example] : r.stats.error_examples) {
        w.Key(kind.c_str());
        w.String(example.c_str());
    }
    w.EndObject();
    // Indices as in the text report (gRPC stream i is pipeline <prefix>-i); empty when every one got an ack.
    w.Key("streams_without_ack");
    w.StartArray();
    for (const auto index : r.stats.silent_streams) {
        w.Uint(index);
    }
    w.EndArray();
    w.Key("ok");
    w.Bool(r.clean());
    w.EndObject();
    stream.Flush();
    out << '\n';
}

} // namespace ava::loadgen
