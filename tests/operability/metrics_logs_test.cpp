// GET /metrics and --log-format json, through the real host: after a known number of HTTP and gRPC frames
// per route and outcome, the counters say exactly that and the histograms counted the same frames; the
// gauges follow open streams and the frame queue; every line of a JSON log parses and says whose frame or
// stream it is about.
#include "host_process.h"
#include "stream_client.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <future>
#include <map>
#include <sstream>

namespace ava::test {
namespace {

using namespace std::chrono_literals;
using Labels = std::map<std::string, std::string>;

// The sum of the samples of `name` whose labels include `wanted` (Prometheus text format).
double sample_sum(const std::string& scrape, const std::string& name, const Labels& wanted = {})
{
    double sum = 0;
    std::istringstream lines(scrape);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#' || !line.starts_with(name) ||
            (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ')) {
            continue;
        }
        Labels labels;
        std::size_t at = name.size();
        if (line[at] == '{') {
            const auto close = line.find('}', at);
            std::istringstream fields(line.substr(at + 1, close - at - 1));
            for (std::string field; std::getline(fields, field, ',');) {
                const auto eq = field.find('=');
                labels[field.substr(0, eq)] = field.substr(eq + 2, field.size() - eq - 3);
            }
            at = close + 1;
        }
        const bool matches = std::all_of(wanted.begin(), wanted.end(), [&](const auto& w) {
            const auto found = labels.find(w.first);
            return found != labels.end() && found->second == w.second;
        });
        if (matches) {
            sum += std::stod(line.substr(at + 1));
        }
    }
    return sum;
}

const std::string raw_type = "image/x-raw; width=64; height=48; format=bgr24";

std::string frame() { return solid_raw_frame(64, 48, 64 * 3, {10, 20, 30}); }

// A gRPC stream of `frames` embedded frames to `configuration`; returns how many were acknowledged.
int run_stream(std::uint16_t port, const std::string& configuration, int frames, const std::string& pipeline = "metrics")
{
    StreamClient client(make_channel(port));
    DescriptorSpec spec;
    spec.pipeline = pipeline;
    spec.extension_configuration = configuration;
    MediaStreamMessage reply;
    if (!client.send(descriptor_message(spec)) || !client.read(reply)) {
        return -1;
    }
    int acked = 0;
    for (int i = 0; i < frames; ++i) {
        if (client.send(embedded_sample(2 + static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(i), frame())) &&
            client.read(reply)) {
            ++acked;
        }
    }
    client.writes_done();
    EXPECT_TRUE(client.drain_and_finish().ok());
    return acked;
}

TEST(Metrics, CountersAndHistogramsMatchTheFramesSent)
{
    TempDir plugins;
    copy_plugins(plugins.path(), {"libprobe.so"});
    HostProcess host({}, plugins.path());
    const auto port = host.http_port();

    // HTTP: 3 with inferences, 2 with none, 1 analyzer failure, 1 client error (raw size wrong), to /probe.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(http_post(port, "/probe", raw_type, frame()).status, 200);
    }
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(http_post(port, "/probe?mode=empty", raw_type, frame()).status, 204);
    }
    EXPECT_EQ(http_post(port, "/probe?mode=fail", raw_type, frame()).status, 500);
    EXPECT_EQ(http_post(port, "/probe", raw_type, "too short").status, 400);
    // gRPC: 5 with inferences, 4 with none.
    EXPECT_EQ(run_stream(host.grpc_port(), "probe", 5), 5);
    EXPECT_EQ(run_stream(host.grpc_port(), R"({"analyzer":"probe","parameters":{"mode":"empty"}})", 4), 4);
    // The server ends its side of a stream just after the client has its status: wait for that.
    EXPECT_TRUE(eventually([&] {
        return sample_sum(http_request(port, "GET", "/metrics").body, "ava_grpc_streams_open") == 0;
    }));

    const auto scrape = http_request(port, "GET", "/metrics");
    ASSERT_EQ(scrape.status, 200) << scrape.body;
    EXPECT_TRUE(scrape.headers.at("content-type").starts_with("text/plain; version=0.0.4")) << scrape.headers.at("content-type");
    const auto& text = scrape.body;
    const auto frames = [&](const std::string& protocol, const std::string& outcome) {
        return sample_sum(text, "ava_frames_total", {{"protocol", protocol}, {"analyzer", "probe"}, {"outcome", outcome}});
    };
    EXPECT_EQ(frames("http", "inferences"), 3) << text;
    EXPECT_EQ(frames("http", "none"), 2);
    EXPECT_EQ(frames("http", "analyzer_error"), 1);
    EXPECT_EQ(frames("http", "client_error"), 1);
    EXPECT_EQ(frames("http", "refused"), 0);
    EXPECT_EQ(frames("grpc", "inferences"), 5);
    EXPECT_EQ(frames("grpc", "none"), 4);
    EXPECT_EQ(frames("grpc", "analyzer_error") + frames("grpc", "client_error"), 0);
    // Each series names its route: the HTTP frames all came through the analyzer's own path.
    EXPECT_EQ(sample_sum(text, "ava_frames_total", {{"protocol", "http"}, {"route", "path /probe"}}), 7) << text;

    const auto count = [&](const std::string& histogram, const std::string& protocol) {
        return sample_sum(text, histogram + "_count", {{"protocol", protocol}, {"analyzer", "probe"}});
    };
    // Decoded: all but the short body; analysed: those that decoded and did not fail; answered: every one.
    EXPECT_EQ(count("ava_frame_decode_seconds", "http"), 6);
    EXPECT_EQ(count("ava_frame_analysis_seconds", "http"), 5);
    EXPECT_EQ(count("ava_frame_receive_to_answer_seconds", "http"), 7);
    EXPECT_EQ(count("ava_frame_decode_seconds", "grpc"), 9);
    EXPECT_EQ(count("ava_frame_analysis_seconds", "grpc"), 9);
    EXPECT_EQ(count("ava_frame_receive_to_answer_seconds", "grpc"), 9);
    // The +Inf bucket holds every observation.
    EXPECT_EQ(sample_sum(text, "ava_frame_analysis_seconds_bucket",
                         {{"protocol", "grpc"}, {"analyzer", "probe"}, {"le", "+Inf"}}),
              9);

    EXPECT_GT(sample_sum(text, "process_resident_memory_bytes"), 1e6);
    EXPECT_GT(sample_sum(text, "process_open_fds"), 3);
    EXPECT_GT(sample_sum(text, "process_cpu_seconds_total"), 0);
    EXPECT_EQ(sample_sum(text, "ava_plugin_loads_total"), 6); // the five bundled analyzers and the probe
    EXPECT_EQ(sample_sum(text, "ava_grpc_streams_open"), 0);
    EXPECT_GE(sample_sum(text, "ava_http_connections_open"), 1); // the scrape's own
}

TEST(Metrics, GaugesFollowAnOpenSharedMemoryStream)
{
    HostProcess host;
    constexpr std::uint64_t frame_bytes = 64 * 48 * 3;
    SharedMemoryFile shm(4 * frame_bytes);
    StreamClient client(make_channel(host.grpc_port()));
    DescriptorSpec spec;
    spec.shm_handle = shm.name();
    spec.shm_length = 4 * frame_bytes;
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(spec)) && client.read(reply));
    shm.write(0, frame());
    ASSERT_TRUE(client.send(shared_sample(2, 0, 0, frame_bytes)) && client.read(reply));
    const auto gauge = [&](const char* name) { return sample_sum(http_request(host.http_port(), "GET", "/metrics").body, name); };
    EXPECT_EQ(gauge("ava_grpc_streams_open"), 1);
    EXPECT_EQ(gauge("ava_shared_memory_mapped_bytes"), static_cast<double>(4 * frame_bytes));
    client.writes_done();
    EXPECT_TRUE(client.drain_and_finish().ok());
    EXPECT_TRUE(eventually([&] { return gauge("ava_grpc_streams_open") == 0; }));
    EXPECT_TRUE(eventually([&] { return gauge("ava_shared_memory_mapped_bytes") == 0; }));
}

// One frame worker thread, three slow frames at once: one in analysis, two waiting for the thread.
TEST(Metrics, QueueDepthCountsFramesWaitingForAWorkerThread)
{
    TempDir plugins;
    copy_plugins(plugins.path(), {"libprobe.so"});
    HostProcess host({"--workers", "1"}, plugins.path());
    const auto gauge = [&](const char* name) { return sample_sum(http_request(host.http_port(), "GET", "/metrics").body, name); };
    EXPECT_EQ(gauge("ava_frame_queue_depth"), 0);
    std::vector<std::future<int>> slow;
    for (int i = 0; i < 3; ++i) {
        slow.push_back(std::async(std::launch::async, [&] {
            return http_post(host.http_port(), "/probe?mode=slow", raw_type, frame()).status;
        }));
    }
    EXPECT_TRUE(eventually([&] { return gauge("ava_frame_queue_depth") == 2 && gauge("ava_frames_in_flight") == 3; }))
        << http_request(host.http_port(), "GET", "/metrics").body;
    for (auto& answer : slow) {
        EXPECT_EQ(answer.get(), 200);
    }
    EXPECT_EQ(gauge("ava_frame_queue_depth"), 0);
    EXPECT_EQ(gauge("ava_frames_in_flight"), 0);
}

TEST(Logs, JsonLinesParseOneByOne)
{
    HostProcess host({"--log-format", "json", "--log-level", "debug"});
    // Lines with client text in them: a pipeline name with quotes, a backslash and a control byte.
    EXPECT_EQ(http_post(host.http_port(), "/score?pipeline=q%22uo%5Cte", raw_type, frame(),
                        {{"x-ms-live-pipeline", "say \"hi\" \\ done"}})
                  .status,
              200);
    EXPECT_EQ(run_stream(host.grpc_port(), "", 2, "json \"pipeline\" \\ name"), 2);
    EXPECT_EQ(host.terminate(), 0);
    std::istringstream lines(host.log());
    int parsed = 0;
    bool saw_client_text = false;
    for (std::string line; std::getline(lines, line);) {
        rapidjson::Document doc;
        doc.Parse(line.c_str(), line.size());
        ASSERT_FALSE(doc.HasParseError()) << "not a JSON line: " << line;
        ASSERT_TRUE(doc.IsObject()) << line;
        for (const char* key : {"time", "level", "message"}) {
            ASSERT_TRUE(doc.HasMember(key) && doc[key].IsString()) << key << " missing in " << line;
        }
        ASSERT_TRUE(doc.HasMember("thread") && doc["thread"].IsUint64()) << line;
        EXPECT_EQ(std::string(doc["time"].GetString()).size(), 24U) << line; // 2026-11-30T10:47:39.060Z
        saw_client_text = saw_client_text || std::string(doc["message"].GetString()).find("json \"pipeline\"") != std::string::npos;
        ++parsed;
    }
    EXPECT_GE(parsed, 5) << host.log();
    EXPECT_TRUE(saw_client_text) << host.log();
}

// The JSON lines about a frame or stream carry its fields, also lines written deeper in the host than the
// front-ends (the HTTP stream sessions); lines about nothing in particular carry none.
TEST(Logs, JsonLinesSayWhosePipelineNodeAnalyzerRouteRequestAndPeer)
{
    HostProcess host({"--log-format", "json", "--log-level", "debug"});
    EXPECT_EQ(http_post(host.http_port(), "/score", raw_type, frame(),
                        {{"x-ms-live-pipeline", "cam-7"}, {"x-ms-client-request-id", "req-42"}})
                  .status,
              200);
    EXPECT_EQ(run_stream(host.grpc_port(), "", 1, "lobby"), 1);
    EXPECT_EQ(host.terminate(), 0);

    const auto field = [](const rapidjson::Document& doc, const char* key) {
        return doc.HasMember(key) && doc[key].IsString() ? std::string(doc[key].GetString()) : std::string("(none)");
    };
    bool saw_http_session = false;
    bool saw_http_request = false;
    bool saw_grpc_stream = false;
    bool saw_plain = false;
    std::istringstream lines(host.log());
    for (std::string line; std::getline(lines, line);) {
        rapidjson::Document doc;
        doc.Parse(line.c_str(), line.size());
        ASSERT_FALSE(doc.HasParseError()) << line;
        const std::string message = doc["message"].GetString();
        if (message.starts_with("HTTP stream 'pipeline cam-7' opened a session")) {
            saw_http_session = true;
            EXPECT_EQ(field(doc, "pipeline"), "cam-7") << line;
            EXPECT_EQ(field(doc, "analyzer"), "color_intensity") << line;
            EXPECT_NE(field(doc, "route").find("/score"), std::string::npos) << line;
            EXPECT_EQ(field(doc, "requestId"), "req-42") << line;
            EXPECT_TRUE(field(doc, "peer").starts_with("127.0.0.1:")) << line;
            EXPECT_EQ(field(doc, "node"), "(none)") << line;
        } else if (message.starts_with("HTTP POST /score -> 200")) {
            saw_http_request = true;
            EXPECT_EQ(field(doc, "requestId"), "req-42") << line;
            EXPECT_TRUE(field(doc, "peer").starts_with("127.0.0.1:")) << line;
        } else if (message.starts_with("gRPC stream from pipeline 'lobby'") && message.find("-> analyzer") != std::string::npos) {
            saw_grpc_stream = true;
            EXPECT_EQ(field(doc, "pipeline"), "lobby") << line;
            EXPECT_EQ(field(doc, "node"), "grpcExtension") << line;
            EXPECT_EQ(field(doc, "analyzer"), "color_intensity") << line;
            EXPECT_NE(field(doc, "route"), "(none)") << line;
            EXPECT_NE(field(doc, "peer"), "(none)") << line;
            EXPECT_EQ(field(doc, "requestId"), "(none)") << line;
        } else if (message.find("listening") != std::string::npos) {
            saw_plain = true;
            EXPECT_FALSE(doc.HasMember("pipeline") || doc.HasMember("peer") || doc.HasMember("analyzer")) << line;
        }
    }
    EXPECT_TRUE(saw_http_session && saw_http_request && saw_grpc_stream && saw_plain) << host.log();
}

TEST(Logs, UnknownFormatIsAUsageError)
{
    const auto [status, output] = run_host_command({"--log-format", "xml"});
    EXPECT_EQ(status, 2) << output;
    EXPECT_NE(output.find("--log-format 'xml'"), std::string::npos) << output;
}

} // namespace
} // namespace ava::test
