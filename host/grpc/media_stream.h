#pragma once
// MediaStream: one ProcessMediaStream call — the per-stream state machine of the AVA gRPC extension
// protocol, as a gRPC callback reactor (no thread of its own).
//
//   handshake: the first message must be a MediaStreamDescriptor; it is validated, routed to an analyzer,
//              its shared memory mapped, an analyzer session opened, and answered with our descriptor.
//              On the worker pool: opening files and plugin code may block, gRPC's callback threads must not.
//   samples:   read into a fixed window of slots; each is admitted with a FrameWorkers ticket, decoded and
//              analysed, and acknowledged in order, one reply per sample, once its analysis is done.
//              Where: on the worker pool, except for raw-frame streams whose frames have proved cheap (under 1 ms):
//              those run on the thread that dispatches them (a gRPC callback thread, or the worker that
//              just finished the previous frame), at most one batch per reaction, which saves two thread
//              hand-offs per frame — most of the cost of a light analyzer — while never holding one of
//              gRPC's few callback threads for more than a window of cheap frames.
//              Each embedded sample holds a reservation of its bytes in the host-wide memory budget until
//              it is acknowledged (shared-memory samples hold none: their bytes live in the sender's file).
//              A full window, no ticket, or no room in the budget stops reading: back-pressure reaches the
//              sender through HTTP/2 flow control instead of a queue growing here.
//   end:       the client closes (OK), a bad message or frame (INVALID_ARGUMENT etc., after acking every
//              earlier sample), a disconnect (CANCELLED), or host shutdown (UNAVAILABLE). The stream finishes
//              only when nothing is in flight, so its session and mapping outlive every use.

#include "contract.h"
#include "frame_format.h"

#include "frames/shared_memory_mapping.h"
#include "live/telemetry.h"
#include "loading/analyzer.h"
#include "routing/router.h"
#include "runtime/frame_workers.h"
#include "runtime/log_context.h"
#include "security/credentials.h"

#include <grpcpp/alarm.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace ava::grpc_frontend {

class StreamRegistry;

// What every stream borrows from the server; all outlive the streams (the server waits for them).
struct StreamServices {
    const routing::Router& router;
    runtime::FrameWorkers& workers;
    const security::Credentials& credentials;
    StreamRegistry& registry;
    live::Telemetry* telemetry; // nullptr: nothing reported
    unsigned max_consecutive_analyzer_errors = 5; // then the stream ends; before, failed frames are acked empty
};

// Messages travel as raw ByteBuffers and are parsed here: gRPC's typed reactor reports a message that does
// not parse exactly like the client's half-close, which would end a garbage stream with OK.
class MediaStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
public:
    // Frames read ahead per stream: enough to overlap reading, analysis and writing (and to use several
    // workers on analyzers that allow it), small enough that an embedded 1080p stream holds ~24 MB at most.
    static constexpr std::size_t window = 4;
    // A "latest" stream's frames skipped while its analyzer is busy hold no pixels, only their pending
    // acknowledgement (acks leave in order, behind the frame being analysed): they live in a longer ring, so
    // an analyzer slower than the window's worth of frame intervals does not stall reading, which would
    // queue the sender's frames in the transport instead and let their latency grow without bound.
    static constexpr std::size_t latest_ring = 32;

    // Creates the reactor for a new call. gRPC holds the returned pointer until OnDone, which frees it.
    static MediaStream* create(StreamServices services, grpc::CallbackServerContext* context);

    MediaStream(StreamServices services, grpc::CallbackServerContext* context);
    MediaStream(const MediaStream&) = delete;
    MediaStream& operator=(const MediaStream&) = delete;
    ~MediaStream() override;

    // Host shutdown: read nothing more, acknowledge what is in flight, then end with UNAVAILABLE.
    void drain();

    void OnReadDone(bool ok) override;
    void OnWriteDone(bool ok) override;
    void OnCancel() override;
    void OnDone() override;

private:
    struct Slot {
        enum class State { free, awaiting_budget, queued, analysing, done, failed };
        contract::MediaStreamMessage request;
        contract::MediaStreamMessage reply; // reused: its inference list keeps its allocations
        std::optional<runtime::FrameWorkers::Ticket> ticket;
        runtime::MemoryBudget::Reservation memory; // the embedded sample's bytes, until it is acknowledged
        std::size_t message_bytes = 0;
        State state = State::free;
        grpc::Status error;
        double took_us = 0;
        std::chrono::steady_clock::time_point received{}; // for the receive-to-answer histogram
        metrics::Outcome outcome = metrics::Outcome::inferences;
    };

    // What step() decided to do once the lock is released.
    struct Actions {
        contract::MediaStreamMessage* read = nullptr;
        const contract::MediaStreamMessage* write = nullptr;
        // Decided under the lock: a slot handed to a worker may be done and reused before we look again.
        std::array<Slot*, window> analyse_here{};
        std::size_t analyse_here_count = 0;
        std::array<Slot*, window> post{};
        std::size_t post_count = 0;
        bool arm_alarm = false;
        std::chrono::milliseconds alarm_after{0};
        std::optional<grpc::Status> finish;
        bool empty() const noexcept
        {
            return read == nullptr && write == nullptr && analyse_here_count == 0 && post_count == 0 && !arm_alarm;
        }
    };

    Slot& slot(std::uint64_t index) noexcept { return slots_[index % ring_]; }
    const Slot& slot(std::uint64_t index) const noexcept { return slots_[index % ring_]; }
    bool may_read_more() const noexcept; // under the lock: room in the ring, and for another frame's pixels
    void start_handshake(std::unique_lock<std::mutex>& lock); // hands set_up() to a worker
    std::optional<grpc::Status> set_up();                   // on a worker, without the lock: nullopt = accepted
    void finish_handshake(std::optional<grpc::Status> refused); // under the lock
    void accept_sample(std::size_t message_bytes);
    bool reserve_memory(Slot& slot); // under the lock; false: no room, the slot waits
    void analyse(Slot& slot);  // without the lock
    void complete(Slot& slot); // under the lock
    void fail(grpc::Status status);
    void start_read(contract::MediaStreamMessage* into); // without the lock; reading_ is set
    bool parse_read();                                   // under the lock, in OnReadDone
    void start_write(const contract::MediaStreamMessage& message); // without the lock; writing_ is set
    // Whether step() may analyse cheap frames on the calling thread (see the samples: line above).
    enum class Inline { allowed, never };
    Actions next_actions(Inline may_run_inline);
    void step(std::unique_lock<std::mutex>& lock, Inline may_run_inline = Inline::allowed);
    grpc::Status final_status() const;
    static void acknowledge_without_inferences(Slot& s);
    void skip(Slot& s); // under the lock: a waiting frame the "latest" policy passes over
    std::string who() const;
    runtime::LogFields log_fields() const; // for the JSON log lines about this stream

    StreamServices services_;
    grpc::CallbackServerContext* context_;
    std::string peer_;

    // Set once by the handshake (on a worker, under a hold), before any sample is read; read-only afterwards.
    std::string pipeline_;
    std::string node_;
    std::string analyzer_;
    std::string route_;
    routing::Overload overload_ = routing::Overload::queue;
    FrameFormat format_;
    std::optional<frames::SharedMemoryMapping> mapping_;
    std::unique_ptr<loading::AnalyzerSession> session_;
    std::size_t max_parallel_ = 1; // analyses of this stream at once (1 unless the plugin is fully concurrent)
    std::size_t ring_ = window;    // slots in use: window, or latest_ring for a "latest" stream
    std::atomic<bool> said_longer_reference_{false}; // a longer-than-the-frame reference is logged once
    std::atomic<unsigned> consecutive_analyzer_errors_{0};
    const metrics::FrameSeries* series_ = nullptr;    // this stream's route and analyzer (with telemetry)
    std::shared_ptr<live::LiveStream> live_;          // listed in GET /streams while open
    double shared_memory_counted_ = 0;                // added to the mapped-bytes gauge

    std::mutex mutex_; // guards everything below
    bool handshaken_ = false;
    bool reading_ = false;
    bool writing_ = false;
    bool writing_descriptor_ = false;
    bool descriptor_reply_due_ = false;
    bool read_closed_ = false; // the client half-closed, or reading failed
    bool cancelled_ = false;   // the client went away (or a write failed): nothing more can be sent
    bool draining_ = false;
    bool finished_ = false;
    bool alarm_pending_ = false;
    bool sample_failed_ = false; // a sample could not be analysed: the stream ends after acking those before it
    bool awaiting_budget_ = false; // the last sample read waits for room in the memory budget: read no more
    std::size_t last_message_bytes_ = 0; // of the last sample read (0: shared memory), to guess the next
    int holds_ = 0; // threads between deciding an action and starting it, or running the handshake: the
                    // stream must not finish (and be freed) under them
    std::optional<grpc::Status> failure_;
    grpc::Status ending_; // the status the stream finished with, for its closing log line
    std::uint64_t head_ = 0;       // oldest sample not yet acknowledged
    std::uint64_t dispatched_ = 0; // next sample to hand to a worker
    std::uint64_t tail_ = 0;       // next slot to read into
    std::size_t analysing_ = 0;
    std::uint64_t last_client_sequence_ = 0;
    std::uint64_t next_sequence_ = 1; // ours
    std::uint64_t frames_acked_ = 0;
    std::uint64_t frames_timed_ = 0;
    double analysis_average_us_ = 0; // recent decode + analysis time per frame (moving average)
    grpc::ByteBuffer read_buffer_;                     // the one read in flight
    contract::MediaStreamMessage* read_into_ = nullptr; // where it is parsed to
    grpc::ByteBuffer write_buffer_;                    // the one write in flight
    contract::MediaStreamMessage descriptor_request_;
    contract::MediaStreamMessage descriptor_reply_;
    std::array<Slot, latest_ring> slots_;
    std::optional<grpc::Alarm> alarm_; // retries admission while the workers are saturated
};

} // namespace ava::grpc_frontend
