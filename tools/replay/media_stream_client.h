// MediaStreamClient: the pipeline's side of one AVA gRPC ProcessMediaStream call, as a live pipeline would
// drive it — a descriptor, then frames (embedded in the messages or in a shared-memory file), with a
// bounded number in flight, and one acknowledgement (with the frame's inferences) per frame, in order.
#ifndef AVA_REPLAY_MEDIA_STREAM_CLIENT_H
#define AVA_REPLAY_MEDIA_STREAM_CLIENT_H

#include <extension.grpc.pb.h>
#include <extension.pb.h>

#include <grpcpp/grpcpp.h>
#include <opencv2/core.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace ava::replay {

namespace contract = microsoft::azure::media::live_video_analytics::extensibility::grpc::v1;

enum class Transfer { embedded, shared_memory };
enum class Encoding { raw, jpg, png, bmp };

struct StreamOptions {
    std::string target = "127.0.0.1:5001";    // host:port of the extension's gRPC endpoint
    std::string extension_configuration;      // selects the analyzer, e.g. "motion" or {"analyzer":..}
    std::string pipeline = "replay";          // graph_instance_name
    std::string node = "replay";              // graph_node_name
    Transfer transfer = Transfer::embedded;
    Encoding encoding = Encoding::raw;        // shared memory carries raw frames only
    cv::Size size;                            // frame size (every frame of a stream has it)
    uint32_t timescale = 90000;
    std::size_t window = 4;                   // frames sent and not yet acknowledged, at most
    std::string username, password;           // x-ms-authentication: Basic, when username is set
    std::string tls_ca_file;                  // PEM roots: connect with TLS when set
    std::chrono::seconds connect_timeout{10};
};

// One acknowledgement.
struct Ack {
    uint64_t sequence = 0;      // the frame's message sequence number
    uint64_t timestamp = 0;
    contract::MediaSample sample; // the host's reply: its inferences
    std::chrono::microseconds latency{0}; // from sending the frame to receiving this
};

class MediaStreamClient {
public:
    // Called on the client's reader thread, once per acknowledged frame, in order.
    using AckHandler = std::function<void(const Ack&)>;

    // Connects, sends the descriptor and waits for the host's. Throws std::runtime_error with the host's
    // message when the stream is refused (unknown analyzer, bad parameter, shared memory not reachable...).
    MediaStreamClient(StreamOptions options, AckHandler on_ack);
    ~MediaStreamClient(); // cancels a stream still open
    MediaStreamClient(const MediaStreamClient&) = delete;
    MediaStreamClient& operator=(const MediaStreamClient&) = delete;

    // Sends one BGR frame (blocks while `window` frames are in flight); returns its sequence number.
    // Throws when the stream has ended (the host closed it with an error: see finish()).
    uint64_t send(const cv::Mat& bgr, uint64_t timestamp);

    // No more frames: waits for every acknowledgement, then the call's final status.
    grpc::Status finish();

    // The sequence number the next send() will use (acks may arrive before send() returns).
    uint64_t next_sequence() const { return next_sequence_; }

    const std::string& extension_identifier() const { return extension_identifier_; }

private:
    class SharedMemory;
    void read_acks();
    std::string encode(const cv::Mat& bgr) const;

    StreamOptions options_;
    AckHandler on_ack_;
    std::shared_ptr<grpc::Channel> channel_;
    std::unique_ptr<contract::MediaGraphExtension::Stub> stub_;
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReaderWriter<contract::MediaStreamMessage, contract::MediaStreamMessage>> stream_;
    std::unique_ptr<SharedMemory> shared_memory_;
    std::string extension_identifier_;
    uint64_t next_sequence_ = 1;
    bool writes_done_ = false;
    std::optional<grpc::Status> status_;

    std::mutex mutex_; // guards the members below, shared with the reader thread
    std::condition_variable changed_;
    std::size_t in_flight_ = 0;
    bool reader_done_ = false;
    std::string protocol_error_;
    std::map<uint64_t, std::chrono::steady_clock::time_point> sent_at_;
    std::thread reader_; // last: starts after everything it uses exists
};

} // namespace ava::replay

#endif
