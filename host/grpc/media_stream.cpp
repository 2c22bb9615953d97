#include "media_stream.h"

#include "stream_registry.h"

#include "security/client_text.h"

#include "frames/image_codecs.h"
#include "inferences/proto_writer.h"

#include <grpc_status_name.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

namespace ava::grpc_frontend {
namespace {

constexpr std::string_view authentication_key = "x-ms-authentication";
// While the workers are saturated and none of this stream's frames is in flight to wake it, it asks again
// this often. Short: a saturated pool frees tickets every few milliseconds.
constexpr auto admission_retry = std::chrono::milliseconds(2);
// While the memory budget has no room for a stream's last sample, it asks again this often.
constexpr auto budget_retry = std::chrono::milliseconds(5);
// Frames of a stream whose recent frames took less than this run inline (see media_stream.h); the first
// frames always go to the workers, to measure.
constexpr double inline_budget_us = 1000;
constexpr std::uint64_t inline_after_frames = 8;
constexpr std::size_t keep_frame_bytes_up_to = std::size_t{1} << 20;

grpc::Status status_of(const routing::RouteError& e)
{
    return {e.kind() == routing::RouteError::Kind::not_found ? grpc::StatusCode::NOT_FOUND
                                                             : grpc::StatusCode::INVALID_ARGUMENT,
            e.what()};
}

grpc::Status status_of(const frames::SharedMemoryError& e)
{
    switch (e.kind()) {
    case frames::SharedMemoryError::Kind::not_found:
        return {grpc::StatusCode::NOT_FOUND, e.what()};
    case frames::SharedMemoryError::Kind::permission_denied:
        return {grpc::StatusCode::PERMISSION_DENIED, e.what()};
    case frames::SharedMemoryError::Kind::bad_request:
        return {grpc::StatusCode::INVALID_ARGUMENT, e.what()};
    case frames::SharedMemoryError::Kind::exhausted:
        return {grpc::StatusCode::RESOURCE_EXHAUSTED, e.what()};
    case frames::SharedMemoryError::Kind::system:
        break;
    }
    return {grpc::StatusCode::INTERNAL, e.what()};
}

std::string payload_name(const contract::MediaStreamMessage& message)
{
    switch (message.payload_case()) {
    case contract::MediaStreamMessage::kMediaStreamDescriptor:
        return "a MediaStreamDescriptor";
    case contract::MediaStreamMessage::kMediaSample:
        return "a MediaSample";
    default:
        return "a message with no payload";
    }
}

} // namespace

MediaStream* MediaStream::create(StreamServices services, grpc::CallbackServerContext* context)
{
    // The callback API takes a raw pointer and hands it back in OnDone, where a unique_ptr frees it.
    return std::make_unique<MediaStream>(services, context).release();
}

MediaStream::MediaStream(StreamServices services, grpc::CallbackServerContext* context)
    : services_(services), context_(context), peer_(context->peer())
{
    std::unique_lock lock(mutex_);
    if (!services_.registry.add(this)) {
        failure_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the extension host is shutting down");
    } else if (services_.credentials.required()) {
        const auto& metadata = context_->client_metadata();
        const auto found = metadata.find(grpc::string_ref(authentication_key.data(), authentication_key.size()));
        const std::string_view value = found == metadata.end()
                                           ? std::string_view()
                                           : std::string_view(found->second.data(), found->second.size());
        if (!security::authorize(services_.credentials, value)) {
            failure_ = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                    found == metadata.end()
                                        ? "credentials required: send request metadata 'x-ms-authentication: Basic "
                                          "<base64 username:password>'"
                                        : "wrong credentials in x-ms-authentication");
            const runtime::LogScope scope(log_fields());
            spdlog::warn("gRPC stream from {}: refused: {}", peer_, failure_->error_message());
        }
    }
    if (!failure_) {
        reading_ = true;
        lock.unlock();
        start_read(&descriptor_request_);
        return;
    }
    step(lock);
}

MediaStream::~MediaStream()
{
    // Close the analyzer stream and unmap the sender's memory now, then say so: an operator (and the
    // disconnect test) can tell the stream left nothing behind.
    const bool had_session = session_ != nullptr;
    const bool had_mapping = mapping_.has_value();
    session_.reset();
    mapping_.reset();
    if (services_.telemetry != nullptr) {
        services_.telemetry->streams.close(live_);
        services_.telemetry->metrics.shared_memory_bytes().Decrement(shared_memory_counted_);
    }
    if (handshaken_) {
        // How it ended, in an operator's words: a clean end, the client leaving, or an error (whose side).
        std::string how = "ended cleanly";
        if (ending_.error_code() == grpc::StatusCode::CANCELLED) {
            how = "cancelled by the client";
        } else if (!ending_.ok()) {
            how = std::string("ended with ") + grpc_status_name(ending_.error_code());
        }
        const runtime::LogScope scope(log_fields());
        spdlog::info("gRPC stream {} {} after {} acknowledged frame(s){}", who(), how, frames_acked_,
                     had_session ? (had_mapping ? ": analyzer session and shared memory released"
                                                : ": analyzer session released")
                                 : "");
    }
}

runtime::LogFields MediaStream::log_fields() const
{
    return {.pipeline = pipeline_, .node = node_, .analyzer = analyzer_, .route = route_, .peer = peer_};
}

std::string MediaStream::who() const
{
    // Both names are the client's: never more than a few hundred bytes of them in a log line.
    return "from pipeline '" + (pipeline_.empty() ? std::string("(unnamed)") : security::client_text(pipeline_)) +
           "' node '" + security::client_text(node_) + "' (" + peer_ + ")";
}

void MediaStream::drain()
{
    std::unique_lock lock(mutex_);
    draining_ = true;
    step(lock, Inline::never); // runs under the registry's lock on the I/O thread: no analyzer work here
}

void MediaStream::OnReadDone(bool ok)
{
    std::unique_lock lock(mutex_);
    reading_ = false;
    if (finished_) {
        return;
    }
    const std::size_t message_bytes = read_buffer_.Length(); // parsing empties the buffer
    if (!ok) {
        read_closed_ = true;
    } else if (!parse_read()) {
        read_closed_ = true; // nothing after a message that does not parse can be trusted
    } else if (!handshaken_) {
        start_handshake(lock);
    } else {
        accept_sample(message_bytes);
    }
    step(lock);
}

void MediaStream::start_read(contract::MediaStreamMessage* into)
{
    read_into_ = into;
    StartRead(&read_buffer_);
}

bool MediaStream::parse_read()
{
    const auto parsed =
        grpc::SerializationTraits<contract::MediaStreamMessage>::Deserialize(&read_buffer_, read_into_);
    if (parsed.ok()) {
        return true;
    }
    fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "the message after sequence_number " + std::to_string(last_client_sequence_) +
                          " is not a MediaStreamMessage: " + parsed.error_message()));
    return false;
}

void MediaStream::start_write(const contract::MediaStreamMessage& message)
{
    bool own_buffer = false;
    write_buffer_.Clear(); // the previous write is done; the serialiser wants an empty buffer
    const auto serialized =
        grpc::SerializationTraits<contract::MediaStreamMessage>::Serialize(message, &write_buffer_, &own_buffer);
    if (serialized.ok()) {
        StartWrite(&write_buffer_);
        return;
    }
    // Only a reply over protobuf's 2 GB limit gets here: nothing can be sent, end the stream.
    std::unique_lock lock(mutex_);
    const runtime::LogScope scope(log_fields());
    spdlog::error("gRPC stream {}: cannot serialise a reply: {}", who(), serialized.error_message());
    writing_ = false;
    cancelled_ = true;
    context_->TryCancel();
}

void MediaStream::start_handshake(std::unique_lock<std::mutex>& lock)
{
    // Opening the sender's file and the analyzer session (plugin code) may block: on a worker, never on
    // one of gRPC's few callback threads. The hold keeps the stream unfinished, and so this reactor alive,
    // until the worker is done, whatever the client or a shutdown does meanwhile.
    ++holds_;
    lock.unlock();
    services_.workers.post([this] {
        auto refused = set_up();
        std::unique_lock worker_lock(mutex_);
        --holds_;
        finish_handshake(std::move(refused));
        step(worker_lock);
    });
    lock.lock();
}

std::optional<grpc::Status> MediaStream::set_up()
{
    // Only this worker touches the stream's set-up fields, and no sample is read before it ends.
    std::optional<grpc::Status> refused;
    const auto& message = descriptor_request_;
    try {
        if (!message.has_media_stream_descriptor()) {
            throw StreamError(grpc::StatusCode::INVALID_ARGUMENT,
                              "the first message must be a MediaStreamDescriptor, got " + payload_name(message));
        }
        const auto& descriptor = message.media_stream_descriptor();
        if (descriptor.has_graph_identifier()) {
            pipeline_ = descriptor.graph_identifier().graph_instance_name();
            node_ = descriptor.graph_identifier().graph_node_name();
        }
        if (!descriptor.has_media_descriptor()) {
            throw StreamError(grpc::StatusCode::INVALID_ARGUMENT, "the MediaStreamDescriptor has no media_descriptor");
        }
        format_ = frame_format_of(descriptor.media_descriptor());
        if (format_.image) {
            // Load the codecs off this callback thread while the first frame is still on its way.
            services_.workers.post([] { frames::preload_image_codecs(); });
        }
        const auto route = services_.router.resolve_grpc(descriptor.extension_configuration(), pipeline_);
        if (descriptor.has_shared_memory_buffer_transfer_properties()) {
            const auto& shared = descriptor.shared_memory_buffer_transfer_properties();
            mapping_ = frames::SharedMemoryMapping::open(shared.handle_name(), shared.length_bytes());
        }
        format_.input = route.analyzer->plugin().input();
        loading::StreamInfo info;
        info.pipeline_name = pipeline_;
        info.node_name = node_;
        info.route = route.route;
        info.width = format_.delivered_size().width; // what the analyzer will be handed
        info.height = format_.delivered_size().height;
        info.pixel_format = format_.delivered_format();
        info.timescale = descriptor.media_descriptor().timescale();
        info.parameters_json = route.parameters_json;
        session_ = route.analyzer->open_session(info);
        analyzer_ = route.analyzer->name();
        route_ = route.route;
        overload_ = route.overload;
        ring_ = overload_ == routing::Overload::latest ? latest_ring : window;
        max_parallel_ = route.analyzer->plugin().concurrency() == AVA_CONCURRENCY_FULL ? window : 1;
        if (auto* telemetry = services_.telemetry) {
            series_ = &telemetry->metrics.frames(metrics::Protocol::grpc, route.route, analyzer_);
            live_ = telemetry->streams.open({"grpc", pipeline_, node_, analyzer_, route.route});
            if (mapping_) {
                shared_memory_counted_ = static_cast<double>(mapping_->size());
                telemetry->metrics.shared_memory_bytes().Increment(shared_memory_counted_);
            }
        }

        descriptor_reply_.set_ack_sequence_number(message.sequence_number());
        descriptor_reply_.mutable_media_stream_descriptor()->set_extension_identifier("ava-extension-host/" + analyzer_);
        const runtime::LogScope scope(log_fields());
        spdlog::info("gRPC stream {} -> analyzer '{}' ({}): {}, {}", who(), analyzer_, route.route, format_.describe(),
                     mapping_ ? "shared memory '" + security::client_text(mapping_->handle_name()) + "' (" +
                                    std::to_string(mapping_->size()) + " bytes)"
                              : std::string("embedded frames"));
    } catch (const StreamError& e) {
        refused = e.status();
    } catch (const routing::RouteError& e) {
        refused = status_of(e);
    } catch (const frames::SharedMemoryError& e) {
        refused = status_of(e);
    } catch (const loading::AnalyzerUnavailable& e) {
        refused = grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string("cannot open the analyzer stream: ") + e.what());
    } catch (const loading::AnalyzerError& e) {
        refused = grpc::Status(e.is_callers_fault() ? grpc::StatusCode::INVALID_ARGUMENT : grpc::StatusCode::INTERNAL,
                               std::string("cannot open the analyzer stream: ") + e.what());
    } catch (const std::exception& e) {
        refused = grpc::Status(grpc::StatusCode::INTERNAL, std::string("stream set-up failed: ") + e.what());
    }
    if (refused) {
        session_.reset();
        mapping_.reset();
    }
    return refused;
}

void MediaStream::finish_handshake(std::optional<grpc::Status> refused)
{
    if (refused) {
        fail(grpc::Status(refused->error_code(), "stream descriptor refused: " + refused->error_message()));
        return;
    }
    handshaken_ = true;
    descriptor_reply_due_ = true;
    last_client_sequence_ = descriptor_request_.sequence_number();
}

void MediaStream::accept_sample(std::size_t message_bytes)
{
    Slot& s = slot(tail_);
    const auto& message = s.request;
    if (!message.has_media_sample()) {
        fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "message sequence_number " + std::to_string(message.sequence_number()) +
                              ": expected a MediaSample after the descriptor, got " + payload_name(message)));
        return;
    }
    if (message.sequence_number() <= last_client_sequence_) {
        fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "MediaSample sequence_number " + std::to_string(message.sequence_number()) +
                              " does not increase (previous message: " + std::to_string(last_client_sequence_) +
                              "): each side numbers its messages from 1, monotonically"));
        return;
    }
    last_client_sequence_ = message.sequence_number();
    if (series_ != nullptr) {
        s.received = std::chrono::steady_clock::now();
    }
    s.state = Slot::State::queued;
    s.message_bytes = message.media_sample().has_content_bytes() ? message_bytes : 0;
    last_message_bytes_ = s.message_bytes;
    if (!reserve_memory(s)) {
        s.state = Slot::State::awaiting_budget; // analysed once it fits; nothing more is read meanwhile
        awaiting_budget_ = true;
    }
    ++tail_;
}

bool MediaStream::reserve_memory(Slot& s)
{
    if (s.message_bytes == 0) {
        return true; // shared memory: the bytes are the sender's
    }
    auto reservation = services_.workers.memory().try_reserve(s.message_bytes);
    if (!reservation) {
        return false;
    }
    s.memory = std::move(*reservation);
    return true;
}

void MediaStream::acknowledge_without_inferences(Slot& s)
{
    // The reply is reused from this slot's earlier frames: their inferences must not ride along.
    auto& reply = *s.reply.mutable_media_sample();
    reply.clear_inferences();
    reply.set_timestamp(s.request.media_sample().timestamp());
    s.reply.set_ack_sequence_number(s.request.sequence_number());
}

void MediaStream::skip(Slot& s)
{
    acknowledge_without_inferences(s);
    s.outcome = metrics::Outcome::skipped;
    s.state = Slot::State::done;
    s.memory.release(); // only its acknowledgement is left to send: give back the embedded bytes now
    s.request.mutable_media_sample()->clear_content_bytes();
    if (series_ != nullptr) {
        series_->count(s.outcome);
    }
}

void MediaStream::analyse(Slot& s)
{
    const runtime::LogScope scope(log_fields()); // lines from the analyzer's side say whose frame it was
    // Runs without the lock: this slot is ours alone until complete() marks it done, and the set-up fields
    // are read-only by now.
    grpc::Status error;
    const auto sequence = s.request.sequence_number();
    const auto started = std::chrono::steady_clock::now();
    s.outcome = metrics::Outcome::client_error; // until the frame is decoded
    live::FrameInFlight in_flight(live_.get());
    try {
        const auto& sample = s.request.media_sample();
        bool longer_reference = false;
        const frames::Frame frame = frame_of(sample, format_, mapping_ ? &*mapping_ : nullptr,
                                             &services_.workers.memory(), &longer_reference);
        auto analysis_started = started;
        if (series_ != nullptr) {
            series_->decode_seconds->Observe(metrics::seconds_since(started));
            analysis_started = std::chrono::steady_clock::now();
        }
        if (longer_reference && !said_longer_reference_.exchange(true)) {
            spdlog::info("gRPC stream {}: content_reference length_bytes {} is longer than the frame ({}): reading "
                         "the frame's bytes from its offset (said once per stream)",
                         who(), sample.content_reference().length_bytes(), format_.describe());
        }
        s.outcome = metrics::Outcome::analyzer_error;
        const auto inferences = session_->process(frame);
        if (series_ != nullptr) {
            series_->analysis_seconds->Observe(metrics::seconds_since(analysis_started));
        }
        s.outcome = inferences.empty() ? metrics::Outcome::none : metrics::Outcome::inferences;
        consecutive_analyzer_errors_.store(0, std::memory_order_relaxed);
        in_flight.succeeded();
        if (live_) {
            live_->show(frame, inferences);
        }
        // The frame (and so any view into shared memory) is done with before the ack can be sent.
        auto& reply = *s.reply.mutable_media_sample();
        reply.set_timestamp(sample.timestamp());
        inferences::to_proto(inferences, *reply.mutable_inferences());
        s.reply.set_ack_sequence_number(sequence);
    } catch (const frames::FrameError& e) {
        s.outcome = metrics::Outcome::client_error;
        error = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                             "MediaSample sequence_number " + std::to_string(sequence) + ": " + e.what());
    } catch (const frames::FrameBudgetExceeded& e) {
        s.outcome = metrics::Outcome::refused;
        error = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             "MediaSample sequence_number " + std::to_string(sequence) + ": " + e.what());
    } catch (const loading::AnalyzerError& e) {
        s.outcome = e.is_callers_fault() ? metrics::Outcome::client_error : metrics::Outcome::analyzer_error;
        const auto what = "MediaSample sequence_number " + std::to_string(sequence) + ": analyzer '" + analyzer_ +
                          "' failed: " + e.what();
        const auto in_a_row = e.is_callers_fault() ? 0 : consecutive_analyzer_errors_.fetch_add(1) + 1;
        if (e.is_callers_fault()) {
            error = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, what);
        } else if (in_a_row < services_.max_consecutive_analyzer_errors) {
            // The analyzer's failure is not the pipeline's: the stream stays open and this frame is
            // acknowledged with no inferences (counted as an analyzer error).
            spdlog::warn("gRPC stream {}: {} (acknowledged without inferences; {} in a row, the stream ends at {})",
                         who(), what, in_a_row, services_.max_consecutive_analyzer_errors);
            acknowledge_without_inferences(s);
        } else {
            const bool unavailable = dynamic_cast<const loading::AnalyzerUnavailable*>(&e) != nullptr;
            error = grpc::Status(unavailable ? grpc::StatusCode::UNAVAILABLE : grpc::StatusCode::INTERNAL,
                                 what + " (" + std::to_string(in_a_row) + " frames in a row failed)");
        }
    } catch (const std::exception& e) {
        error = grpc::Status(grpc::StatusCode::INTERNAL,
                             "MediaSample sequence_number " + std::to_string(sequence) + ": " + e.what());
    }
    // Whatever came of it, a frame read after the sender shrank its file was (partly) zeros, not its data.
    if (mapping_ && mapping_->broken()) {
        s.outcome = metrics::Outcome::client_error;
        error = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                             "MediaSample sequence_number " + std::to_string(sequence) + ": shared memory file '" +
                                 security::client_text(mapping_->handle_name()) +
                                 "' shrank while frames were being read from it (a sender must not truncate it while "
                                 "the stream is open)");
    }
    const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - started;
    s.error = std::move(error);
    s.took_us = took.count();
}

void MediaStream::complete(Slot& s)
{
    s.ticket.reset();
    --analysing_;
    // Only its acknowledgement is left to send, which may wait behind earlier frames or a client slow to
    // read (a "latest" stream keeps up to latest_ring frames unacknowledged): free its budget now, and the
    // bytes of a big embedded frame (small ones keep their capacity for the slot's next message).
    s.memory.release();
    if (s.request.media_sample().content_bytes().bytes().capacity() > keep_frame_bytes_up_to) {
        s.request.mutable_media_sample()->clear_content_bytes();
    }
    analysis_average_us_ = frames_timed_++ == 0 ? s.took_us : 0.8 * analysis_average_us_ + 0.2 * s.took_us;
    if (series_ != nullptr) {
        series_->count(s.outcome);
    }
    if (s.error.ok()) {
        s.state = Slot::State::done;
    } else {
        s.state = Slot::State::failed;
        sample_failed_ = true;
        const runtime::LogScope scope(log_fields());
        spdlog::warn("gRPC stream {}: {}: {}", who(), grpc_status_name(s.error.error_code()), s.error.error_message());
    }
}

void MediaStream::fail(grpc::Status status)
{
    const runtime::LogScope scope(log_fields());
    spdlog::warn("gRPC stream {}: {}: {}", who(), grpc_status_name(status.error_code()), status.error_message());
    if (!failure_) {
        failure_ = std::move(status);
    }
}

void MediaStream::OnWriteDone(bool ok)
{
    std::unique_lock lock(mutex_);
    writing_ = false;
    const bool was_descriptor = std::exchange(writing_descriptor_, false);
    if (!ok) {
        cancelled_ = true; // the stream is broken: nothing more can be sent
    } else if (!was_descriptor) {
        Slot& acked = slot(head_);
        if (series_ != nullptr) {
            series_->receive_to_answer_seconds->Observe(metrics::seconds_since(acked.received));
        }
        acked.state = Slot::State::free;
        acked.memory.release();
        // A slot keeps its parsed message for reuse, and with it the frame bytes' capacity: fine for small
        // frames, but 64 streams x 4 slots of 1080p would pin 1.5 GB. Big frames give their memory back.
        if (acked.request.has_media_sample() &&
            acked.request.media_sample().content_bytes().bytes().capacity() > keep_frame_bytes_up_to) {
            acked.request = contract::MediaStreamMessage();
        }
        ++head_;
        ++frames_acked_;
    }
    step(lock);
}

void MediaStream::OnCancel()
{
    std::unique_lock lock(mutex_);
    cancelled_ = true;
    step(lock);
}

void MediaStream::OnDone()
{
    services_.registry.remove(this);
    const std::unique_ptr<MediaStream> self(this); // the pointer create() released
}

MediaStream::Actions MediaStream::next_actions(Inline may_run_inline)
{
    Actions a;
    if (finished_) {
        return a;
    }
    // The last sample read waits for room in the memory budget: try again (the alarm paces the retries).
    if (awaiting_budget_ && !cancelled_ && !sample_failed_ && !alarm_pending_) {
        Slot& waiting = slot(tail_ - 1);
        if (reserve_memory(waiting)) {
            waiting.state = Slot::State::queued;
            awaiting_budget_ = false;
        } else {
            alarm_pending_ = true;
            a.arm_alarm = true;
            a.alarm_after = budget_retry;
        }
    }
    // Hand queued samples to workers, in order, while this stream may run more and a ticket is free.
    if (handshaken_ && !cancelled_ && !sample_failed_) {
        // "latest": a waiting frame with a newer one behind it will never be worth the analyzer's time, so
        // it is passed over at once (not when the analyzer frees): it stops holding a place in the window,
        // and reading goes on however long the analysis takes.
        while (overload_ == routing::Overload::latest && dispatched_ + 1 < tail_ &&
               slot(dispatched_).state == Slot::State::queued && slot(dispatched_ + 1).state == Slot::State::queued) {
            skip(slot(dispatched_++));
        }
        while (dispatched_ < tail_ && slot(dispatched_).state == Slot::State::queued && analysing_ < max_parallel_ &&
               !alarm_pending_) {
            auto ticket = services_.workers.try_admit();
            if (!ticket) {
                alarm_pending_ = true;
                a.arm_alarm = true;
                a.alarm_after = admission_retry;
                break;
            }
            Slot& s = slot(dispatched_++);
            s.ticket.emplace(std::move(*ticket));
            s.state = Slot::State::analysing;
            ++analysing_;
            // Raw frames only: their cost is the analyzer's, which the average tracks; a compressed frame's
            // decode cost depends on what the client sends next.
            if (may_run_inline == Inline::allowed && !format_.image && frames_timed_ >= inline_after_frames &&
                analysis_average_us_ < inline_budget_us) {
                a.analyse_here[a.analyse_here_count++] = &s;
            } else {
                a.post[a.post_count++] = &s;
            }
        }
    }
    // Replies leave one at a time, in sample order: our descriptor first, then each acked sample.
    if (!writing_ && !cancelled_) {
        if (descriptor_reply_due_) {
            descriptor_reply_due_ = false;
            writing_ = writing_descriptor_ = true;
            descriptor_reply_.set_sequence_number(next_sequence_++);
            a.write = &descriptor_reply_;
        } else if (head_ < tail_ && slot(head_).state == Slot::State::done) {
            writing_ = true;
            auto& reply = slot(head_).reply;
            reply.set_sequence_number(next_sequence_++);
            a.write = &reply;
        }
    }
    // Read the next sample only into a free slot: a full window is the back-pressure.
    if (handshaken_ && !reading_ && !read_closed_ && !cancelled_ && !draining_ && !failure_ && !sample_failed_ &&
        !awaiting_budget_ && may_read_more()) {
        // Nor while the budget has no room for another sample like the last: the sender waits, not our heap.
        // Checked, not held: a read pending on an idle sender must not keep others' frames out.
        if (last_message_bytes_ == 0 || services_.workers.memory().try_reserve(last_message_bytes_)) {
            reading_ = true;
            a.read = &slot(tail_).request;
        } else if (!alarm_pending_) {
            alarm_pending_ = true;
            a.arm_alarm = true;
            a.alarm_after = budget_retry;
        }
    }
    if (a.empty() && holds_ == 0 && analysing_ == 0 && !writing_ && !alarm_pending_) {
        const bool head_failed = head_ < tail_ && slot(head_).state == Slot::State::failed;
        const bool all_acked = head_ == tail_;
        if (cancelled_ || head_failed || (all_acked && (failure_ || read_closed_ || draining_))) {
            finished_ = true;
            a.finish = final_status();
        }
    }
    return a;
}

bool MediaStream::may_read_more() const noexcept
{
    // Frames read and not yet analysed or skipped, plus those being analysed: the ones holding pixels.
    const std::uint64_t holding_pixels = tail_ - dispatched_ + analysing_;
    return tail_ - head_ < ring_ && holding_pixels < window;
}

grpc::Status MediaStream::final_status() const
{
    if (cancelled_) {
        return {grpc::StatusCode::CANCELLED, "the client went away"};
    }
    if (head_ < tail_ && slot(head_).state == Slot::State::failed) {
        return slot(head_).error;
    }
    if (failure_) {
        return *failure_;
    }
    if (draining_) {
        return {grpc::StatusCode::UNAVAILABLE, "the extension host is shutting down; reconnect to another instance"};
    }
    return grpc::Status::OK;
}

void MediaStream::step(std::unique_lock<std::mutex>& lock, Inline may_run_inline)
{
    for (;;) {
        Actions a = next_actions(may_run_inline);
        if (a.finish) {
            ending_ = *a.finish;
            lock.unlock();
            Finish(*a.finish); // the last touch: OnDone may free this stream any time after
            return;
        }
        if (a.empty()) {
            return;
        }
        // Hold the stream open while acting without the lock, so no other thread can finish it under us.
        ++holds_;
        lock.unlock();
        if (a.write != nullptr) {
            start_write(*a.write);
        }
        if (a.read != nullptr) {
            start_read(a.read);
        }
        for (std::size_t i = 0; i < a.post_count; ++i) {
            Slot* s = a.post[i];
            services_.workers.post([this, s] {
                analyse(*s);
                std::unique_lock worker_lock(mutex_);
                complete(*s);
                step(worker_lock);
            });
        }
        if (a.arm_alarm) {
            // Only one alarm is ever pending; replacing a fired one (even from its own callback) is safe.
            alarm_.emplace();
            alarm_->Set(std::chrono::system_clock::now() + a.alarm_after, [this](bool) {
                std::unique_lock alarm_lock(mutex_);
                alarm_pending_ = false;
                step(alarm_lock);
            });
        }
        // Cheap frames run here, after the next read has been started.
        for (std::size_t i = 0; i < a.analyse_here_count; ++i) {
            analyse(*a.analyse_here[i]);
        }
        if (a.analyse_here_count != 0) {
            may_run_inline = Inline::never; // one batch per reaction: frames arriving meanwhile go to the workers
        }
        lock.lock();
        for (std::size_t i = 0; i < a.analyse_here_count; ++i) {
            complete(*a.analyse_here[i]);
        }
        --holds_;
    }
}

} // namespace ava::grpc_frontend
