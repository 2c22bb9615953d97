// ava-loadgen: its hand-written wire encoding against the generated contract, and short runs against
// the real host (zero loss, every ack checked) and against servers that misbehave (it must fail).

#include "host_process.h"
#include "sample_encoding.h"

#include <extension.pb.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace {

namespace contract = microsoft::azure::media::live_video_analytics::extensibility::grpc::v1;

struct LoadgenRun {
    int exit_code = -1;
    std::string output;
    rapidjson::Document json;
};

// Runs ava-loadgen with --json and parses its report.
LoadgenRun run_loadgen(const std::vector<std::string>& args)
{
    std::string command = AVA_LOADGEN_BINARY;
    for (const auto& arg : args) {
        command += " '" + arg + "'";
    }
    command += " --json 2>&1";
    LoadgenRun run;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return run;
    }
    std::array<char, 4096> chunk{};
    while (const auto n = std::fread(chunk.data(), 1, chunk.size(), pipe)) {
        run.output.append(chunk.data(), n);
    }
    const int status = ::pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    // The JSON report is the last line; anything before it is diagnostics.
    const auto line = run.output.rfind("\n{");
    const auto start = line != std::string::npos ? line + 1 : 0;
    run.json.Parse(run.output.c_str() + start);
    return run;
}

std::uint64_t errors_of(const LoadgenRun& run, const char* kind)
{
    if (!run.json.IsObject() || !run.json.HasMember("errors")) {
        return 0;
    }
    const auto& errors = run.json["errors"];
    return errors.HasMember(kind) ? errors[kind].GetUint64() : 0;
}

void expect_clean(const LoadgenRun& run, std::uint64_t frames)
{
    ASSERT_EQ(run.exit_code, 0) << run.output;
    ASSERT_TRUE(run.json.IsObject()) << run.output;
    EXPECT_EQ(run.json["frames_sent"].GetUint64(), frames) << run.output;
    EXPECT_EQ(run.json["frames_acked"].GetUint64(), frames) << run.output;
    EXPECT_TRUE(run.json["errors"].ObjectEmpty()) << run.output;
    EXPECT_TRUE(run.json["ok"].GetBool()) << run.output;
    EXPECT_GT(run.json["fps"].GetDouble(), 0.0) << run.output;
}

// A port nothing listens on: bound once to find a free one, then closed.
std::uint16_t closed_port()
{
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

bool grpc_front_end_serves(const ava::test::HostProcess& host) { return host.grpc_port() != 0; }

TEST(LoadgenEncoding, EmbeddedSampleParsesWithTheGeneratedContract)
{
    const std::string frame(70000, '\x5a'); // long enough for multi-byte length varints
    const auto wire = ava::loadgen::embedded_sample_header(300, 1234567890123ULL, frame.size()) + frame;
    contract::MediaStreamMessage message;
    ASSERT_TRUE(message.ParseFromString(wire));
    EXPECT_EQ(message.sequence_number(), 300U);
    EXPECT_EQ(message.ack_sequence_number(), 0U);
    ASSERT_TRUE(message.has_media_sample());
    EXPECT_EQ(message.media_sample().timestamp(), 1234567890123ULL);
    ASSERT_TRUE(message.media_sample().has_content_bytes());
    EXPECT_EQ(message.media_sample().content_bytes().bytes(), frame);
    // Byte for byte what the generated code writes for the same message.
    EXPECT_EQ(message.SerializeAsString(), wire);
}

TEST(LoadgenEncoding, SharedMemorySampleParsesWithTheGeneratedContract)
{
    const auto wire = ava::loadgen::shared_memory_sample(2, 3000, 6220800, 6220800);
    contract::MediaStreamMessage message;
    ASSERT_TRUE(message.ParseFromString(wire));
    EXPECT_EQ(message.sequence_number(), 2U);
    ASSERT_TRUE(message.media_sample().has_content_reference());
    EXPECT_EQ(message.media_sample().timestamp(), 3000U);
    EXPECT_EQ(message.media_sample().content_reference().address_offset(), 6220800U);
    EXPECT_EQ(message.media_sample().content_reference().length_bytes(), 6220800U);
    EXPECT_EQ(message.SerializeAsString(), wire);
}

TEST(LoadgenHttp, JpegOverKeepAliveConnectionsAllAnswered)
{
    ava::test::HostProcess host;
    const auto run = run_loadgen({"http", "--port", std::to_string(host.http_port()), "--streams", "4", "--frames",
                                  "25", "--encoding", "jpg", "--host-pid", std::to_string(host.pid())});
    expect_clean(run, 100);
    EXPECT_TRUE(run.json.HasMember("host_cpu_us_per_frame")) << run.output;
    EXPECT_GT(run.json["host_rss_bytes"].GetUint64(), 0U) << run.output;
}

TEST(LoadgenHttp, RawFramesForADurationAtATargetRate)
{
    ava::test::HostProcess host;
    const auto run = run_loadgen({"http", "--port", std::to_string(host.http_port()), "--streams", "2", "--duration",
                                  "1", "--fps", "20", "--encoding", "raw", "--size", "320x240"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    // 2 connections x 20 fps x 1 s, give or take a frame at each edge.
    EXPECT_NEAR(static_cast<double>(run.json["frames_acked"].GetUint64()), 40.0, 4.0) << run.output;
    EXPECT_EQ(run.json["frames_sent"].GetUint64(), run.json["frames_acked"].GetUint64());
}

TEST(LoadgenHttp, FailsWhenThePathAnswers404)
{
    ava::test::HostProcess host;
    const auto run = run_loadgen({"http", "--port", std::to_string(host.http_port()), "--path", "/no-such-analyzer",
                                  "--frames", "3"});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_EQ(errors_of(run, "http_404"), 1U) << run.output;
    EXPECT_FALSE(run.json["ok"].GetBool());
}

TEST(LoadgenHttp, FailsWhenNothingListens)
{
    const auto run = run_loadgen({"http", "--port", std::to_string(closed_port()), "--frames", "3", "--streams", "2"});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_EQ(errors_of(run, "connect"), 2U) << run.output;
    EXPECT_NE(run.output.find("ava-loadgen: 2 stream(s) got no acknowledgement: connection 0 connection 1"),
              std::string::npos)
        << run.output;
}

TEST(LoadgenGrpc, FailsWhenNothingListens)
{
    const auto run = run_loadgen({"grpc", "--port", std::to_string(closed_port()), "--frames", "3", "--timeout", "5"});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_EQ(errors_of(run, "status_UNAVAILABLE"), 1U) << run.output;
}

TEST(LoadgenGrpc, EmbeddedFramesAllAcknowledgedInOrder)
{
    ava::test::HostProcess host;
    if (!grpc_front_end_serves(host)) {
        GTEST_SKIP() << "the gRPC front-end is not serving in this build";
    }
    const auto run = run_loadgen({"grpc", "--port", std::to_string(host.grpc_port()), "--streams", "3", "--frames",
                                  "30", "--window", "4", "--transfer", "embedded", "--host-pid",
                                  std::to_string(host.pid())});
    expect_clean(run, 90);
}

TEST(LoadgenGrpc, SharedMemoryFramesAllAcknowledgedAndSlotsReused)
{
    ava::test::HostProcess host;
    if (!grpc_front_end_serves(host)) {
        GTEST_SKIP() << "the gRPC front-end is not serving in this build";
    }
    // 2 slots for 40 frames per stream: every slot is reused many times, only after its frame's ack.
    const auto run = run_loadgen({"grpc", "--port", std::to_string(host.grpc_port()), "--streams", "2", "--frames",
                                  "40", "--window", "2", "--shm-slots", "2", "--transfer", "shm", "--shm-write-each"});
    expect_clean(run, 80);
}

TEST(LoadgenGrpc, FailsWhenTheAnalyzerDoesNotExist)
{
    ava::test::HostProcess host;
    if (!grpc_front_end_serves(host)) {
        GTEST_SKIP() << "the gRPC front-end is not serving in this build";
    }
    const auto run = run_loadgen({"grpc", "--port", std::to_string(host.grpc_port()), "--frames", "3",
                                  "--extension-configuration", "no_such_analyzer"});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_EQ(errors_of(run, "status_NOT_FOUND"), 1U) << run.output;
    EXPECT_NE(run.output.find("got no acknowledgement: loadgen-0"), std::string::npos) << run.output;
}

// A line a second on stderr while the run lasts (a soak is never silent); --quiet turns it off.
TEST(LoadgenProgress, PrintsALineASecondUnlessQuiet)
{
    ava::test::HostProcess host;
    const auto port = std::to_string(host.http_port());
    const auto run = run_loadgen({"http", "--port", port, "--duration", "2.5", "--fps", "20"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    std::size_t lines = 0;
    for (auto at = run.output.find("ava-loadgen: "); at != std::string::npos; at = run.output.find("ava-loadgen: ", at + 1)) {
        const auto line = run.output.substr(at, run.output.find('\n', at) - at);
        EXPECT_NE(line.find(" s "), std::string::npos) << line;
        EXPECT_NE(line.find(" fps "), std::string::npos) << line;
        EXPECT_NE(line.find(" acks "), std::string::npos) << line;
        EXPECT_NE(line.find(" errors "), std::string::npos) << line;
        EXPECT_NE(line.find("p99 "), std::string::npos) << line;
        ++lines;
    }
    EXPECT_GE(lines, 2U) << run.output;
    EXPECT_LE(lines, 3U) << run.output;
    const auto quiet = run_loadgen({"http", "--port", port, "--duration", "1.5", "--fps", "20", "--quiet"});
    ASSERT_EQ(quiet.exit_code, 0) << quiet.output;
    EXPECT_EQ(quiet.output.find("ava-loadgen: "), std::string::npos) << quiet.output;
}

} // namespace
