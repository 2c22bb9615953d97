#include "grpc_load.h"

#include "grpc_stream.h"

#include <grpcpp/create_channel.h>

#include <memory>
#include <thread>
#include <vector>

namespace ava::loadgen {

RunStats run_grpc_load(const LoadOptions& options, const FramePayload& payload, const RunPlan& plan)
{
    StreamsFinished finished(options.streams);
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    std::vector<std::unique_ptr<GrpcStream>> streams;
    channels.reserve(options.streams);
    streams.reserve(options.streams);
    const auto target = options.host + ":" + std::to_string(options.port);
    for (unsigned i = 0; i < options.streams; ++i) {
        grpc::ChannelArguments args;
        args.SetMaxReceiveMessageSize(-1);
        args.SetMaxSendMessageSize(-1);
        // A distinct argument gives each stream its own connection, as separate pipelines would have.
        args.SetInt("ava.loadgen.stream", static_cast<int>(i));
        channels.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
        streams.push_back(std::make_unique<GrpcStream>(options, payload, plan, i, finished));
    }
    for (unsigned i = 0; i < options.streams; ++i) {
        grpc::GenericStub stub(channels[i]);
        streams[i]->start(stub);
    }

    // Stop sending at the end of the duration; give up on calls that make no progress for --timeout.
    bool stopped = false;
    bool cancelled = false;
    auto last_progress = finished.progress.load();
    auto last_progress_time = Clock::now();
    while (!finished.wait_for(std::chrono::milliseconds(20))) {
        const auto now = Clock::now();
        if (!stopped && plan.stop_at && now >= *plan.stop_at) {
            stopped = true;
            for (auto& stream : streams) {
                stream->stop_sending();
            }
        }
        if (const auto progress = finished.progress.load(); progress != last_progress) {
            last_progress = progress;
            last_progress_time = now;
        } else if (!cancelled && now - last_progress_time > plan.timeout) {
            cancelled = true;
            for (auto& stream : streams) {
                stream->cancel();
            }
        }
    }

    RunStats total;
    for (unsigned i = 0; i < options.streams; ++i) {
        total.merge_stream(i, streams[i]->stats()); // stream i is pipeline <prefix>-i
    }
    return total;
}

} // namespace ava::loadgen
