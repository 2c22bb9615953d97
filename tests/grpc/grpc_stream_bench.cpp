// Throughput of one or more AVA gRPC streams against a running host (not a test): frames per second for
// shared-memory or embedded RAW BGR24 frames, with a bounded number of frames in flight per stream as AVA
// keeps. Also serves as a bare "echo" extension (acks every frame at once, no analysis) to compare with.
//
//   grpc_stream_bench client <port> shm|embedded [frames=2000] [width=640] [height=480] [in_flight=8] [streams=1]
//   grpc_stream_bench echo-server <port>
#include "stream_client.h"

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

namespace {

using namespace ava::test;

struct Options {
    std::uint16_t port = 5001;
    bool shared_memory = true;
    int frames = 2000;
    std::uint32_t width = 640;
    std::uint32_t height = 480;
    int in_flight = 8;
};

// Returns the frames acknowledged.
int run_stream(const Options& o, int index)
{
    const std::uint32_t stride = o.width * 3;
    const std::uint64_t frame_size = std::uint64_t{stride} * o.height;
    const std::string frame = solid_raw_frame(o.width, o.height, stride, {200, 200, 200});
    std::unique_ptr<SharedMemoryFile> shm;
    DescriptorSpec spec;
    spec.pipeline = "bench-" + std::to_string(index);
    spec.width = o.width;
    spec.height = o.height;
    spec.stride = stride;
    if (o.shared_memory) {
        shm = std::make_unique<SharedMemoryFile>(frame_size * static_cast<std::uint64_t>(o.in_flight));
        for (int slot = 0; slot < o.in_flight; ++slot) {
            shm->write(frame_size * static_cast<std::uint64_t>(slot), frame);
        }
        spec.shm_handle = shm->name();
        spec.shm_length = frame_size * static_cast<std::uint64_t>(o.in_flight);
    }
    StreamClient client(make_channel(o.port), {}, std::chrono::seconds(600));
    MediaStreamMessage reply;
    if (!client.send(descriptor_message(spec)) || !client.read(reply)) {
        std::cerr << "handshake failed: " << client.finish().error_message() << "\n";
        return 0;
    }
    std::mutex mutex;
    std::condition_variable freed;
    int outstanding = 0;
    auto writer = std::async(std::launch::async, [&] {
        MediaStreamMessage message = o.shared_memory ? shared_sample(0, 0, 0, frame_size) : embedded_sample(0, 0, frame);
        for (int i = 0; i < o.frames; ++i) {
            {
                std::unique_lock lock(mutex);
                freed.wait(lock, [&] { return outstanding < o.in_flight; });
                ++outstanding;
            }
            message.set_sequence_number(2 + static_cast<std::uint64_t>(i));
            message.mutable_media_sample()->set_timestamp(static_cast<std::uint64_t>(i));
            if (o.shared_memory) {
                message.mutable_media_sample()->mutable_content_reference()->set_address_offset(
                    frame_size * static_cast<std::uint64_t>(i % o.in_flight));
            }
            if (!client.send(message)) {
                return;
            }
        }
        client.writes_done();
    });
    int acked = 0;
    while (acked < o.frames && client.read(reply)) {
        ++acked;
        const std::lock_guard lock(mutex);
        --outstanding;
        freed.notify_one();
    }
    writer.get();
    const auto status = client.drain_and_finish();
    if (!status.ok()) {
        std::cerr << "stream " << index << ": " << status.error_message() << "\n";
    }
    return acked;
}

// Acks every sample at once with no inference: the floor any extension's per-frame cost is compared to.
class EchoStream final : public grpc::ServerBidiReactor<MediaStreamMessage, MediaStreamMessage> {
public:
    EchoStream() { StartRead(&request_); }
    void OnReadDone(bool ok) override
    {
        if (!ok) {
            Finish(grpc::Status::OK);
            return;
        }
        reply_.Clear();
        reply_.set_sequence_number(++sequence_);
        reply_.set_ack_sequence_number(request_.sequence_number());
        if (request_.has_media_stream_descriptor()) {
            reply_.mutable_media_stream_descriptor()->set_extension_identifier("echo");
        } else {
            reply_.mutable_media_sample()->set_timestamp(request_.media_sample().timestamp());
        }
        StartWrite(&reply_);
    }
    void OnWriteDone(bool ok) override
    {
        if (!ok) {
            Finish(grpc::Status::CANCELLED);
            return;
        }
        StartRead(&request_);
    }
    void OnDone() override { const std::unique_ptr<EchoStream> self(this); }

private:
    MediaStreamMessage request_;
    MediaStreamMessage reply_;
    std::uint64_t sequence_ = 0;
};

class EchoService final : public contract::MediaGraphExtension::CallbackService {
    grpc::ServerBidiReactor<MediaStreamMessage, MediaStreamMessage>* ProcessMediaStream(
        grpc::CallbackServerContext*) override
    {
        return std::make_unique<EchoStream>().release();
    }
};

} // namespace

int main(int argc, char** argv)
{
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() >= 2 && args[0] == "echo-server") {
        EchoService service;
        grpc::ServerBuilder builder;
        builder.AddListeningPort("0.0.0.0:" + args[1], grpc::InsecureServerCredentials());
        builder.SetMaxReceiveMessageSize(64 << 20);
        if (const char* lookahead = std::getenv("BENCH_LOOKAHEAD")) {
            builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, std::atoi(lookahead));
        }
        if (const char* frame = std::getenv("BENCH_MAX_FRAME")) {
            builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, std::atoi(frame));
        }
        builder.RegisterService(&service);
        const auto server = builder.BuildAndStart();
        std::cout << "echo extension on port " << args[1] << std::endl;
        server->Wait();
        return 0;
    }
    if (args.size() < 3 || args[0] != "client") {
        std::cerr << "usage: grpc_stream_bench client <port> shm|embedded [frames] [width] [height] [in_flight] "
                     "[streams]\n       grpc_stream_bench echo-server <port>\n";
        return 2;
    }
    Options o;
    o.port = static_cast<std::uint16_t>(std::stoi(args[1]));
    o.shared_memory = args[2] == "shm";
    const auto arg = [&](std::size_t i, int fallback) { return args.size() > i ? std::stoi(args[i]) : fallback; };
    o.frames = arg(3, 2000);
    o.width = static_cast<std::uint32_t>(arg(4, 640));
    o.height = static_cast<std::uint32_t>(arg(5, 480));
    o.in_flight = arg(6, 8);
    const int streams = arg(7, 1);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::future<int>> running;
    for (int i = 0; i < streams; ++i) {
        running.push_back(std::async(std::launch::async, run_stream, o, i));
    }
    long total = 0;
    for (auto& r : running) {
        total += r.get();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s %ux%u, %d stream(s), %d in flight: %ld frames in %.2f s = %.0f frames/s\n",
                o.shared_memory ? "shared memory" : "embedded", o.width, o.height, streams, o.in_flight, total,
                seconds, static_cast<double>(total) / seconds);
    return 0;
}
