// grpc_echo_floor: the bare gRPC transport floor for the benchmark. Speaks MediaGraphExtension with the
// same messages as the host but does nothing else: it answers the descriptor and acknowledges every
// sample as soon as it is read (echoing its timestamp), with no routing, plugin call, decode or mapping.
// It reads ahead while replies are written, as the host does. Prints "port <n>" once serving.

#include <extension.grpc.pb.h>

#include <grpcpp/grpcpp.h>

#include <csignal>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>

namespace {

namespace contract = microsoft::azure::media::live_video_analytics::extensibility::grpc::v1;

class EchoStream final : public grpc::ServerBidiReactor<contract::MediaStreamMessage, contract::MediaStreamMessage> {
public:
    EchoStream() { StartRead(&request_); }

    void OnReadDone(bool ok) override
    {
        std::unique_lock lock(mutex_);
        if (!ok) {
            read_closed_ = true;
            return finish_if_idle(lock);
        }
        contract::MediaStreamMessage reply;
        reply.set_sequence_number(++sequence_);
        reply.set_ack_sequence_number(request_.sequence_number());
        if (request_.has_media_stream_descriptor()) {
            reply.mutable_media_stream_descriptor()->set_extension_identifier("grpc-echo-floor");
        } else {
            reply.mutable_media_sample()->set_timestamp(request_.media_sample().timestamp());
        }
        pending_.push_back(std::move(reply));
        write_next(lock);
        lock.unlock();
        StartRead(&request_);
    }

    void OnWriteDone(bool ok) override
    {
        std::unique_lock lock(mutex_);
        writing_ = false;
        pending_.pop_front();
        if (!ok) {
            broken_ = true;
        }
        write_next(lock);
        if (!writing_) {
            finish_if_idle(lock);
        }
    }

    void OnDone() override { const std::unique_ptr<EchoStream> self(this); } // the pointer handed to gRPC

private:
    void write_next(std::unique_lock<std::mutex>&)
    {
        if (!writing_ && !broken_ && !pending_.empty()) {
            writing_ = true;
            StartWrite(&pending_.front()); // deque: the front stays put while others are appended
        }
    }

    void finish_if_idle(std::unique_lock<std::mutex>& lock)
    {
        if (read_closed_ && !writing_ && !finished_ && (pending_.empty() || broken_)) {
            finished_ = true;
            lock.unlock();
            Finish(grpc::Status::OK);
        }
    }

    std::mutex mutex_;
    contract::MediaStreamMessage request_;
    std::deque<contract::MediaStreamMessage> pending_;
    std::uint64_t sequence_ = 0;
    bool writing_ = false;
    bool read_closed_ = false;
    bool broken_ = false;
    bool finished_ = false;
};

class EchoService final : public contract::MediaGraphExtension::CallbackService {
    grpc::ServerBidiReactor<contract::MediaStreamMessage, contract::MediaStreamMessage>*
    ProcessMediaStream(grpc::CallbackServerContext*) override
    {
        return std::make_unique<EchoStream>().release(); // gRPC hands it back in OnDone
    }
};

} // namespace

int main(int argc, char** argv)
{
    // Block the stop signals before gRPC starts its threads, so only sigwait below receives them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    const std::string port = argc > 1 ? argv[1] : "0";
    EchoService service;
    int bound = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + port, grpc::InsecureServerCredentials(), &bound);
    builder.SetMaxReceiveMessageSize(64 * 1024 * 1024); // embedded 1080p RAW frames are ~6 MB
    builder.RegisterService(&service);
    const auto server = builder.BuildAndStart();
    if (!server || bound == 0) {
        std::cerr << "grpc_echo_floor: cannot listen on port " << port << '\n';
        return 1;
    }
    std::cout << "port " << bound << std::endl;
    int signal = 0;
    sigwait(&signals, &signal);
    server->Shutdown();
    return 0;
}
