#include "grpc_stream.h"

#include "basic_auth.h"
#include "sample_encoding.h"

#include <extension.grpc.pb.h> // also brings SerializationTraits for protobuf messages
#include <extension.pb.h>
#include <grpc_status_name.h>

#include <unistd.h>

namespace ava::loadgen {
namespace {

namespace contract = microsoft::azure::media::live_video_analytics::extensibility::grpc::v1;
using Format = contract::VideoFrameSampleFormat;

// Timestamps in a 90 kHz timescale, as video pipelines use; frame n at 30 fps.
constexpr std::uint64_t timescale = 90000;
constexpr std::uint64_t ticks_per_frame = timescale / 30;

contract::MediaStreamMessage descriptor_of(const LoadOptions& o, unsigned index, const SharedMemoryRing* ring)
{
    contract::MediaStreamMessage message;
    message.set_sequence_number(1);
    auto& descriptor = *message.mutable_media_stream_descriptor();
    auto& graph = *descriptor.mutable_graph_identifier();
    graph.set_media_services_arm_id("/subscriptions/loadgen/resourceGroups/loadgen/providers/Microsoft.Media/"
                                    "videoAnalyzers/loadgen");
    graph.set_graph_instance_name(o.pipeline_prefix + "-" + std::to_string(index));
    graph.set_graph_node_name("grpcExtension");
    descriptor.set_extension_configuration(o.extension_configuration);
    auto& media = *descriptor.mutable_media_descriptor();
    media.set_timescale(timescale);
    auto& video = *media.mutable_video_frame_sample_format();
    switch (o.encoding) {
    case Encoding::raw:
        video.set_encoding(Format::RAW);
        video.set_pixel_format(o.pixel_format == PixelFormat::bgr24 ? Format::BGR24 : Format::RGB24);
        video.set_stride_bytes(o.width * 3);
        break;
    case Encoding::jpg:
        video.set_encoding(Format::JPG);
        break;
    case Encoding::bmp:
        video.set_encoding(Format::BMP);
        break;
    }
    video.mutable_dimensions()->set_width(o.width);
    video.mutable_dimensions()->set_height(o.height);
    if (ring != nullptr) {
        auto& shared = *descriptor.mutable_shared_memory_buffer_transfer_properties();
        shared.set_handle_name(ring->handle_name());
        shared.set_length_bytes(ring->size_bytes());
    }
    return message;
}


} // namespace

void StreamsFinished::one_done()
{
    const std::lock_guard lock(mutex_);
    --remaining_;
    done_.notify_all();
}

bool StreamsFinished::wait_for(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, timeout, [this] { return remaining_ == 0; });
}

GrpcStream::GrpcStream(const LoadOptions& options, const FramePayload& payload, const RunPlan& plan, unsigned index,
                       StreamsFinished& finished)
    : options_(options), payload_(payload), plan_(plan), index_(index), finished_(finished),
      window_(options.window),
      frame_slice_(payload.bytes.data(), payload.bytes.size(), grpc::Slice::STATIC_SLICE)
{
    stats_.progress = plan.progress;
    if (options.transfer == Transfer::shared_memory) {
        ring_.emplace("ava-loadgen-" + std::to_string(::getpid()) + "-" + std::to_string(index), options.shm_slots,
                      payload.bytes.size(), payload.view());
        window_ = std::min<std::size_t>(window_, options.shm_slots);
    }
    if (!options.username.empty()) {
        context_.AddMetadata("x-ms-authentication", basic_credentials(options.username, options.password));
    }
}

void GrpcStream::start(grpc::GenericStub& stub)
{
    stub.PrepareBidiStreamingCall(&context_,
                                  "/microsoft.azure.media.live_video_analytics.extensibility.grpc.v1."
                                  "MediaGraphExtension/ProcessMediaStream",
                                  grpc::StubOptions(), this);
    bool own_buffer = false;
    const auto descriptor = descriptor_of(options_, index_, ring_ ? &*ring_ : nullptr);
    grpc::SerializationTraits<contract::MediaStreamMessage>::Serialize(descriptor, &outgoing_, &own_buffer);
    next_sequence_ = 2;
    // Held until this stream has started its last operation: stop_sending() and alarms act from outside
    // reactions, which gRPC allows only while a hold keeps the call from completing.
    AddHold();
    writing_ = true;
    StartWrite(&outgoing_);
    StartRead(&incoming_);
    StartCall();
}

void GrpcStream::stop_sending()
{
    std::unique_lock lock(mutex_);
    if (hold_claimed_) {
        return;
    }
    stopping_ = true;
    const auto actions = pump();
    lock.unlock();
    act(actions);
}

void GrpcStream::cancel()
{
    {
        const std::lock_guard lock(mutex_);
        timed_out_ = true;
        stopping_ = true;
    }
    context_.TryCancel();
}

void GrpcStream::OnWriteDone(bool ok)
{
    std::unique_lock lock(mutex_);
    writing_ = false;
    if (!ok) {
        stopping_ = true; // the call is over; OnDone reports why
    }
    const auto actions = pump();
    lock.unlock();
    act(actions);
}

void GrpcStream::OnReadDone(bool ok)
{
    std::unique_lock lock(mutex_);
    if (!ok) {
        read_closed_ = true;
        stopping_ = true;
    } else {
        check_reply();
    }
    auto actions = pump();
    actions.read = ok; // keep one read posted until the host closes the call
    if (!ok && !hold_claimed_) {
        hold_claimed_ = true; // the server has closed: nothing more to start
        actions.release_hold = true;
    }
    lock.unlock();
    act(actions);
}

void GrpcStream::OnWritesDoneDone(bool) {}

void GrpcStream::OnDone(const grpc::Status& status)
{
    {
        const std::lock_guard lock(mutex_);
        if (timed_out_) {
            stats_.error("timeout", "no answer for " + std::to_string(options_.timeout_s) + " s");
        } else if (!status.ok() && !failed_) {
            stats_.error("status_" + ava::grpc_status_name(status.error_code()), status.error_message());
        } else if (status.ok() && !handshaken_) {
            stats_.error("handshake", "the call ended before the host's descriptor arrived");
        }
        if (!in_flight_.empty()) {
            stats_.error("lost", std::to_string(in_flight_.size()) + " frame(s) never acknowledged");
            stats_.errors["lost"] += in_flight_.size() - 1;
        }
        alarm_.reset();
    }
    finished_.one_done(); // the last touch of this object: the runner may destroy it now
}

void GrpcStream::check_reply()
{
    contract::MediaStreamMessage reply;
    if (!grpc::SerializationTraits<contract::MediaStreamMessage>::Deserialize(&incoming_, &reply).ok()) {
        return fail("bad_reply", "a reply did not parse as a MediaStreamMessage");
    }
    if (reply.sequence_number() != expected_reply_) {
        return fail("reply_sequence", "reply sequence_number " + std::to_string(reply.sequence_number()) +
                                          ", expected " + std::to_string(expected_reply_));
    }
    ++expected_reply_;
    if (!handshaken_) {
        if (!reply.has_media_stream_descriptor() || reply.ack_sequence_number() != 1) {
            return fail("handshake", "the first reply must be a MediaStreamDescriptor acknowledging message 1");
        }
        handshaken_ = true;
        next_due_ = Clock::now();
        return;
    }
    const auto ack = reply.ack_sequence_number();
    const auto it = std::find_if(in_flight_.begin(), in_flight_.end(), [ack](const InFlight& f) { return f.sequence == ack; });
    if (it == in_flight_.end()) {
        return fail("unknown_ack", "ack_sequence_number " + std::to_string(ack) + " matches no frame in flight");
    }
    if (!reply.has_media_sample()) {
        return fail("reply_payload", "the reply to sample " + std::to_string(ack) + " carries no MediaSample");
    }
    if (reply.media_sample().timestamp() != it->timestamp) {
        return fail("timestamp_mismatch", "the reply to sample " + std::to_string(ack) + " echoes timestamp " +
                                              std::to_string(reply.media_sample().timestamp()) + ", sent " +
                                              std::to_string(it->timestamp));
    }
    stats_.acked(it->sent, Clock::now(), payload_.bytes.size(), plan_.window);
    finished_.progress.fetch_add(1, std::memory_order_relaxed);
    if (ring_) {
        ring_->release(it->slot);
    }
    in_flight_.erase(it);
}

void GrpcStream::fail(const std::string& kind, const std::string& detail)
{
    stats_.error(kind, detail);
    failed_ = true;
    stopping_ = true; // pump() cancels the call once the lock is released
}

void GrpcStream::build_sample(int slot)
{
    const auto sequence = next_sequence_++;
    const auto timestamp = sequence * ticks_per_frame;
    if (ring_) {
        if (options_.shm_write_each) {
            ring_->write(slot, payload_.view());
        }
        const auto message = shared_memory_sample(sequence, timestamp, ring_->offset_of(slot), payload_.bytes.size());
        grpc::Slice header(message.data(), message.size());
        outgoing_ = grpc::ByteBuffer(&header, 1);
    } else {
        const auto prefix = embedded_sample_header(sequence, timestamp, payload_.bytes.size());
        grpc::Slice slices[] = {grpc::Slice(prefix.data(), prefix.size()), frame_slice_};
        outgoing_ = grpc::ByteBuffer(slices, 2);
    }
    in_flight_.push_back({sequence, timestamp, slot, Clock::now()});
    ++stats_.frames_sent;
}

GrpcStream::Actions GrpcStream::pump()
{
    Actions a;
    if (failed_ && !cancel_sent_) {
        cancel_sent_ = true;
        a.cancel = true;
    }
    if (read_closed_ || hold_claimed_) {
        return a;
    }
    const auto now = Clock::now();
    if (plan_.frames_per_stream != 0 && stats_.frames_sent >= plan_.frames_per_stream) {
        stopping_ = true;
    }
    if (handshaken_ && !stopping_ && !writing_ && in_flight_.size() < window_) {
        if (plan_.frame_period.count() > 0 && now < next_due_) {
            if (!alarm_pending_) {
                alarm_pending_ = true;
                a.alarm = next_due_;
            }
        } else {
            const int slot = ring_ ? ring_->acquire() : 0;
            if (slot >= 0) {
                build_sample(slot);
                writing_ = true;
                a.write = true;
                // A late stream does not burst to catch up: the schedule restarts from now.
                next_due_ = std::max(next_due_ + plan_.frame_period, now);
            }
        }
    }
    if (stopping_ && in_flight_.empty() && !writing_ && !writes_done_ && !alarm_pending_) {
        writes_done_ = true;
        hold_claimed_ = true;
        a.writes_done = !failed_;
        a.release_hold = true;
    }
    return a;
}

void GrpcStream::act(const Actions& a)
{
    if (a.cancel) {
        context_.TryCancel();
    }
    if (a.write) {
        StartWrite(&outgoing_);
    }
    if (a.read) {
        StartRead(&incoming_);
    }
    if (a.alarm) {
        AddHold(); // released by the alarm's callback
        std::unique_lock lock(mutex_);
        alarm_.emplace();
        alarm_->Set(std::chrono::system_clock::now() + (*a.alarm - Clock::now()), [this](bool) {
            std::unique_lock alarm_lock(mutex_);
            alarm_pending_ = false;
            const auto actions = pump();
            alarm_lock.unlock();
            act(actions);
            RemoveHold();
        });
    }
    if (a.writes_done) {
        StartWritesDone();
    }
    if (a.release_hold) {
        RemoveHold();
    }
}

} // namespace ava::loadgen
