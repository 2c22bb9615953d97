#pragma once
// GrpcStream: one simulated pipeline's ProcessMediaStream call, as a gRPC client callback reactor.
// Sends the descriptor, waits for the host's, then keeps up to `window` samples in flight (paced to the
// frame period if any), checks every reply (sequence numbers, ack number, echoed timestamp) and, with
// shared memory, frees a frame's slot only when that frame is acknowledged.

#include "frame_payload.h"
#include "load_options.h"
#include "run_plan.h"
#include "run_stats.h"
#include "shared_memory_ring.h"

#include <grpcpp/alarm.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace ava::loadgen {

// Counts streams that have ended, and acks received (progress, for stall detection).
class StreamsFinished {
public:
    explicit StreamsFinished(std::size_t streams) : remaining_(streams) {}
    void one_done();
    // Waits until all are done or `timeout` passes; true when all are done.
    bool wait_for(std::chrono::milliseconds timeout);
    std::atomic<std::uint64_t> progress{0};

private:
    std::mutex mutex_;
    std::condition_variable done_;
    std::size_t remaining_;
};

class GrpcStream final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
public:
    GrpcStream(const LoadOptions& options, const FramePayload& payload, const RunPlan& plan, unsigned index,
               StreamsFinished& finished);
    GrpcStream(const GrpcStream&) = delete;
    GrpcStream& operator=(const GrpcStream&) = delete;

    void start(grpc::GenericStub& stub);
    void stop_sending(); // the run's duration is over: finish what is in flight, then close
    void cancel();       // no progress for too long: give up on this call
    // Valid after the stream has finished.
    const RunStats& stats() const noexcept { return stats_; }

    void OnWriteDone(bool ok) override;
    void OnReadDone(bool ok) override;
    void OnWritesDoneDone(bool ok) override;
    void OnDone(const grpc::Status& status) override;

private:
    struct InFlight {
        std::uint64_t sequence;
        std::uint64_t timestamp;
        int slot;
        Clock::time_point sent;
    };
    // What pump() decided, done after the lock is released.
    struct Actions {
        bool write = false;
        bool read = false;
        bool writes_done = false;
        bool release_hold = false;
        bool cancel = false;
        std::optional<Clock::time_point> alarm;
    };

    Actions pump();
    void act(const Actions& actions);
    void check_reply();
    void fail(const std::string& kind, const std::string& detail);
    void build_sample(int slot);

    const LoadOptions& options_;
    const FramePayload& payload_;
    const RunPlan& plan_;
    unsigned index_;
    StreamsFinished& finished_;
    grpc::ClientContext context_;
    std::optional<SharedMemoryRing> ring_;
    std::size_t window_;
    grpc::Slice frame_slice_; // the shared payload, referenced not copied

    std::mutex mutex_;
    grpc::ByteBuffer outgoing_;
    grpc::ByteBuffer incoming_;
    std::deque<InFlight> in_flight_;
    std::optional<grpc::Alarm> alarm_;
    bool alarm_pending_ = false;
    bool handshaken_ = false;
    bool writing_ = false;
    bool stopping_ = false;       // send nothing more
    bool failed_ = false;         // a check failed: the call is being cancelled
    bool cancel_sent_ = false;
    bool timed_out_ = false;
    bool read_closed_ = false;
    bool hold_claimed_ = false;   // the hold taken in start() is (being) released
    bool writes_done_ = false;
    std::uint64_t next_sequence_ = 1;
    std::uint64_t expected_reply_ = 1;
    Clock::time_point next_due_;
    RunStats stats_;
};

} // namespace ava::loadgen
