#include "telemetry.h"

#include "inferences/utf8.h"
#include "runtime/iso_time.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace ava::live {

using runtime::iso_time;

std::string streams_json(LiveStreams& streams, const metrics::Metrics& metrics)
{
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    // Pipeline and node names are the clients' (an HTTP header may carry any byte): valid UTF-8 or repaired.
    const auto string = [&](std::string s) {
        inferences::repair_utf8(s);
        w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("streams");
    w.StartArray();
    for (const auto& [stream, fps] : streams.list()) {
        const auto& identity = stream->identity();
        w.StartObject();
        w.Key("id");
        string(std::to_string(stream->id()));
        w.Key("protocol");
        string(identity.protocol);
        w.Key("pipeline");
        string(identity.pipeline);
        w.Key("node");
        string(identity.node);
        w.Key("analyzer");
        string(identity.analyzer);
        w.Key("route");
        string(identity.route);
        w.Key("frames");
        w.Uint64(stream->frames());
        w.Key("fps");
        w.Double(fps);
        w.Key("inFlight");
        w.Int64(stream->in_flight());
        w.Key("errors");
        w.Uint64(stream->errors());
        w.Key("started");
        string(iso_time(stream->started()));
        w.Key("view");
        string("/streams/" + std::to_string(stream->id()) + "/view");
        w.EndObject();
    }
    w.EndArray();
    w.Key("analyzers");
    w.StartArray();
    for (const auto& [name, times] : metrics.analysis_times()) {
        w.StartObject();
        w.Key("name");
        string(name);
        w.Key("frames");
        w.Uint64(times.frames);
        w.Key("analysisP50Ms");
        w.Double(times.p50_ms);
        w.Key("analysisP99Ms");
        w.Double(times.p99_ms);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

} // namespace ava::live
