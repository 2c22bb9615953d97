// ava-loadgen: its hand-written wire encoding against the generated contract, and short runs against
// the real host (zero loss, every ack checked) and against servers that misbehave (it must fail), among
// them peers that serve only some of the streams (the run must fail, naming the others).

#include "host_process.h"
#include "sample_encoding.h"

#include <extension.grpc.pb.h>
#include <extension.pb.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sys/wait.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
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

std::vector<unsigned> silent_streams_of(const LoadgenRun& run)
{
    std::vector<unsigned> out;
    if (run.json.IsObject() && run.json.HasMember("streams_without_ack")) {
        for (const auto& index : run.json["streams_without_ack"].GetArray()) {
            out.push_back(index.GetUint());
        }
    }
    return out;
}

// The number after `prefix` in e.g. "loadgen-5" or "lg-5-12" (ava-loadgen's pipeline names and request ids).
unsigned index_after(std::string_view text, std::string_view prefix)
{
    unsigned index = ~0U;
    if (text.starts_with(prefix)) {
        std::from_chars(text.data() + prefix.size(), text.data() + text.size(), index);
    }
    return index;
}

using Message = contract::MediaStreamMessage;

// A real MediaGraphExtension server that serves only the streams in `served` (by pipeline loadgen-<i>):
// it acknowledges each of their frames. The others it holds without a word until the pipeline closes,
// then completes the handshake and ends the call with OK: no error of any kind, only no acknowledgement.
class PartialGrpcPeer final : public contract::MediaGraphExtension::Service {
public:
    explicit PartialGrpcPeer(std::set<unsigned> served) : served_(std::move(served))
    {
        grpc::ServerBuilder builder;
        builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
        builder.RegisterService(this);
        server_ = builder.BuildAndStart();
    }
    PartialGrpcPeer(const PartialGrpcPeer&) = delete;
    PartialGrpcPeer& operator=(const PartialGrpcPeer&) = delete;
    ~PartialGrpcPeer() override { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }

    std::string port() const { return std::to_string(port_); }

    grpc::Status ProcessMediaStream(grpc::ServerContext*, grpc::ServerReaderWriter<Message, Message>* stream) override
    {
        Message request;
        if (!stream->Read(&request) || !request.has_media_stream_descriptor()) {
            return {grpc::StatusCode::INVALID_ARGUMENT, "expected a MediaStreamDescriptor first"};
        }
        const auto& graph = request.media_stream_descriptor().graph_identifier();
        const bool serve = served_.contains(index_after(graph.graph_instance_name(), "loadgen-"));
        if (!serve) {
            while (stream->Read(&request)) { // held unanswered until the pipeline closes its side
            }
        }
        std::uint64_t sequence = 1;
        Message reply;
        reply.set_sequence_number(sequence);
        reply.set_ack_sequence_number(1);
        reply.mutable_media_stream_descriptor()->set_extension_identifier("partial-peer");
        stream->Write(reply);
        while (serve && stream->Read(&request)) {
            reply.Clear();
            reply.set_sequence_number(++sequence);
            reply.set_ack_sequence_number(request.sequence_number());
            reply.mutable_media_sample()->set_timestamp(request.media_sample().timestamp());
            stream->Write(reply);
        }
        return grpc::Status::OK;
    }

private:
    std::set<unsigned> served_;
    int port_ = 0;
    std::unique_ptr<grpc::Server> server_;
};

namespace net = boost::asio;
namespace http = boost::beast::http;

// A real HTTP server that answers 204 on the connections in `served` (by request id lg-<i>-<n>) and closes
// the others without answering.
class PartialHttpPeer {
public:
    explicit PartialHttpPeer(std::set<unsigned> served)
        : acceptor_(io_, {net::ip::make_address("127.0.0.1"), 0}), served_(std::move(served))
    {
        accept();
        thread_ = std::jthread([this] { io_.run(); });
    }
    PartialHttpPeer(const PartialHttpPeer&) = delete;
    PartialHttpPeer& operator=(const PartialHttpPeer&) = delete;
    ~PartialHttpPeer() { io_.stop(); } // then thread_ joins, before the connections go with io_

    std::string port() const { return std::to_string(acceptor_.local_endpoint().port()); }

private:
    class Connection : public std::enable_shared_from_this<Connection> {
    public:
        Connection(net::ip::tcp::socket socket, const std::set<unsigned>& served)
            : socket_(std::move(socket)), served_(served)
        {
        }

        void read()
        {
            request_ = {};
            http::async_read(socket_, buffer_, request_, [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                if (!ec) {
                    self->answer();
                }
            });
        }

    private:
        void answer()
        {
            const std::string id(request_["x-ms-client-request-id"]);
            if (!served_.contains(index_after(id, "lg-"))) {
                return; // the last reference goes: the socket closes unanswered
            }
            response_ = {http::status::no_content, 11};
            response_.set("x-ms-client-request-id", id);
            response_.keep_alive(true);
            http::async_write(socket_, response_, [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                if (!ec) {
                    self->read();
                }
            });
        }

        net::ip::tcp::socket socket_;
        const std::set<unsigned>& served_;
        boost::beast::flat_buffer buffer_;
        http::request<http::string_body> request_;
        http::response<http::empty_body> response_;
    };

    void accept()
    {
        acceptor_.async_accept([this](boost::beast::error_code ec, net::ip::tcp::socket socket) {
            if (!ec) {
                std::make_shared<Connection>(std::move(socket), served_)->read();
                accept();
            }
        });
    }

    net::io_context io_;
    net::ip::tcp::acceptor acceptor_;
    std::set<unsigned> served_;
    std::jthread thread_; // last: stops before everything it uses
};

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
    EXPECT_NE(run.output.find("ava-loadgen: 2 of 2 connections got no acknowledgement: 0, 1"), std::string::npos)
        << run.output;
    EXPECT_EQ(silent_streams_of(run), (std::vector<unsigned>{0, 1})) << run.output;
}

// Connections the peer closes unanswered fail the run by name, next to the errors they also count.
TEST(LoadgenHttp, FailsNamingTheConnectionsThePeerNeverAnswered)
{
    PartialHttpPeer peer({0, 3});
    const auto run = run_loadgen({"http", "--port", peer.port(), "--streams", "5", "--frames", "4"});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_EQ(run.json["frames_acked"].GetUint64(), 8U) << run.output;
    EXPECT_EQ(silent_streams_of(run), (std::vector<unsigned>{1, 2, 4})) << run.output;
    EXPECT_NE(run.output.find("ava-loadgen: 3 of 5 connections got no acknowledgement: 1, 2, 4\n"), std::string::npos)
        << run.output;
    EXPECT_FALSE(run.json["ok"].GetBool()) << run.output;
}

TEST(LoadgenHttp, PassesWhenThePeerAnswersEveryConnection)
{
    PartialHttpPeer peer({0, 1, 2, 3, 4});
    const auto run = run_loadgen({"http", "--port", peer.port(), "--streams", "5", "--frames", "4"});
    expect_clean(run, 20);
    EXPECT_TRUE(silent_streams_of(run).empty()) << run.output;
    EXPECT_EQ(run.output.find("got no acknowledgement"), std::string::npos) << run.output;
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
    EXPECT_NE(run.output.find("ava-loadgen: 1 of 1 streams got no acknowledgement: 0\n"), std::string::npos)
        << run.output;
}

// A peer that serves 3 of 8 streams and ends the others' calls cleanly: nothing else counts those five
// (no error, no loss, every frame sent was acknowledged), so only the streams that got no ack fail the run.
TEST(LoadgenGrpc, FailsNamingTheStreamsThePeerNeverAcknowledged)
{
    PartialGrpcPeer peer({0, 3, 6});
    const auto run = run_loadgen({"grpc", "--port", peer.port(), "--streams", "8", "--duration", "1", "--fps", "20",
                                  "--size", "64x64", "--timeout", "5"});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    ASSERT_TRUE(run.json.IsObject()) << run.output;
    EXPECT_TRUE(run.json["errors"].ObjectEmpty()) << run.output;
    EXPECT_GT(run.json["frames_acked"].GetUint64(), 0U) << run.output;
    EXPECT_EQ(run.json["frames_sent"].GetUint64(), run.json["frames_acked"].GetUint64()) << run.output;
    EXPECT_EQ(silent_streams_of(run), (std::vector<unsigned>{1, 2, 4, 5, 7})) << run.output;
    EXPECT_NE(run.output.find("ava-loadgen: 5 of 8 streams got no acknowledgement: 1, 2, 4, 5, 7\n"),
              std::string::npos)
        << run.output;
    EXPECT_FALSE(run.json["ok"].GetBool()) << run.output;
}

TEST(LoadgenGrpc, PassesWhenThePeerServesEveryStream)
{
    PartialGrpcPeer peer({0, 1, 2, 3, 4, 5, 6, 7});
    const auto run = run_loadgen({"grpc", "--port", peer.port(), "--streams", "8", "--duration", "1", "--fps", "20",
                                  "--size", "64x64", "--timeout", "5"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_TRUE(run.json["ok"].GetBool()) << run.output;
    EXPECT_TRUE(run.json["errors"].ObjectEmpty()) << run.output;
    EXPECT_TRUE(silent_streams_of(run).empty()) << run.output;
    EXPECT_EQ(run.output.find("got no acknowledgement"), std::string::npos) << run.output;
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
