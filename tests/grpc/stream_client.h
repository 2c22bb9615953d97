#pragma once
// Test-side AVA gRPC client pieces, header-only so that two test executables can compile them against two
// independently generated copies of the contract (our proto/ and tests/grpc/ava_reference_contract/).
// Whichever generated extension.grpc.pb.h is on the include path is the one used.

#include <extension.grpc.pb.h>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ava::test {

namespace contract = microsoft::azure::media::live_video_analytics::extensibility::grpc::v1;
using contract::MediaStreamMessage;
using Format = contract::VideoFrameSampleFormat;

inline std::shared_ptr<grpc::Channel> make_channel(
    std::uint16_t port, std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials(),
    const std::string& host = "127.0.0.1")
{
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(-1);
    arguments.SetMaxSendMessageSize(-1);
    return grpc::CreateCustomChannel(host + ":" + std::to_string(port), std::move(credentials), arguments);
}

// One ProcessMediaStream call with a synchronous reader-writer: tests read the script top to bottom.
class StreamClient {
public:
    explicit StreamClient(const std::shared_ptr<grpc::Channel>& channel,
                          const std::vector<std::pair<std::string, std::string>>& metadata = {},
                          std::chrono::seconds deadline = std::chrono::seconds(60))
        : stub_(contract::MediaGraphExtension::NewStub(channel))
    {
        for (const auto& [key, value] : metadata) {
            context_.AddMetadata(key, value);
        }
        context_.set_deadline(std::chrono::system_clock::now() + deadline);
        stream_ = stub_->ProcessMediaStream(&context_);
    }
    StreamClient(const StreamClient&) = delete;
    StreamClient& operator=(const StreamClient&) = delete;

    bool send(const MediaStreamMessage& message) { return stream_->Write(message); }
    bool read(MediaStreamMessage& message) { return stream_->Read(&message); }
    bool writes_done() { return stream_->WritesDone(); }
    grpc::Status finish() { return stream_->Finish(); }
    void cancel() { context_.TryCancel(); }

    // Reads until the server ends the stream, then returns its status (replies read on the way are dropped).
    grpc::Status drain_and_finish()
    {
        MediaStreamMessage ignored;
        while (stream_->Read(&ignored)) {
        }
        return stream_->Finish();
    }

private:
    std::unique_ptr<contract::MediaGraphExtension::Stub> stub_;
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReaderWriter<MediaStreamMessage, MediaStreamMessage>> stream_;
};

struct DescriptorSpec {
    std::string pipeline = "test-pipeline";
    std::string node = "grpcExtension";
    std::string extension_configuration;
    Format::Encoding encoding = Format::RAW;
    int pixel_format = Format::BGR24;
    std::uint32_t width = 64;
    std::uint32_t height = 48;
    std::uint32_t stride = 0;
    std::uint32_t timescale = 90000;
    std::string shm_handle; // empty: embedded frames
    std::uint64_t shm_length = 0;
};

inline MediaStreamMessage descriptor_message(const DescriptorSpec& spec, std::uint64_t sequence = 1)
{
    MediaStreamMessage message;
    message.set_sequence_number(sequence);
    auto& d = *message.mutable_media_stream_descriptor();
    auto& graph = *d.mutable_graph_identifier();
    graph.set_media_services_arm_id("/subscriptions/test/resourceGroups/test/providers/microsoft.media/videoanalyzers/test");
    graph.set_graph_instance_name(spec.pipeline);
    graph.set_graph_node_name(spec.node);
    d.set_extension_configuration(spec.extension_configuration);
    auto& media = *d.mutable_media_descriptor();
    media.set_timescale(spec.timescale);
    auto& video = *media.mutable_video_frame_sample_format();
    video.set_encoding(spec.encoding);
    video.set_pixel_format(static_cast<Format::PixelFormat>(spec.pixel_format));
    video.mutable_dimensions()->set_width(spec.width);
    video.mutable_dimensions()->set_height(spec.height);
    video.set_stride_bytes(spec.stride);
    if (!spec.shm_handle.empty()) {
        auto& shared = *d.mutable_shared_memory_buffer_transfer_properties();
        shared.set_handle_name(spec.shm_handle);
        shared.set_length_bytes(spec.shm_length);
    }
    return message;
}

inline MediaStreamMessage embedded_sample(std::uint64_t sequence, std::uint64_t timestamp, std::string bytes)
{
    MediaStreamMessage message;
    message.set_sequence_number(sequence);
    auto& sample = *message.mutable_media_sample();
    sample.set_timestamp(timestamp);
    *sample.mutable_content_bytes()->mutable_bytes() = std::move(bytes);
    return message;
}

inline MediaStreamMessage shared_sample(std::uint64_t sequence, std::uint64_t timestamp, std::uint64_t offset,
                                        std::uint64_t length)
{
    MediaStreamMessage message;
    message.set_sequence_number(sequence);
    auto& sample = *message.mutable_media_sample();
    sample.set_timestamp(timestamp);
    sample.mutable_content_reference()->set_address_offset(offset);
    sample.mutable_content_reference()->set_length_bytes(length);
    return message;
}

// A RAW frame of one colour (B, G, R order in `bgr`), `stride` bytes per row (padding filled with 0xAB so a
// reader that ignores the stride sees garbage).
inline std::string solid_raw_frame(std::uint32_t width, std::uint32_t height, std::uint32_t stride,
                                   std::array<std::uint8_t, 3> pixel)
{
    std::string bytes(static_cast<std::size_t>(stride) * height, static_cast<char>(0xAB));
    for (std::uint32_t y = 0; y < height; ++y) {
        for (std::uint32_t x = 0; x < width; ++x) {
            std::memcpy(&bytes[static_cast<std::size_t>(y) * stride + x * 3u], pixel.data(), 3);
        }
    }
    return bytes;
}

// The classification the colour intensity analyzer put in a reply ("" if none).
inline std::string intensity_of(const MediaStreamMessage& reply)
{
    if (!reply.has_media_sample() || reply.media_sample().inferences_size() != 1) {
        return "";
    }
    const auto& inference = reply.media_sample().inferences(0);
    if (inference.type() != contract::Inference::CLASSIFICATION || inference.subtype() != "colorIntensity" ||
        !inference.has_classification()) {
        return "";
    }
    return inference.classification().tag().value();
}

// A sender's shared-memory buffer: /dev/shm/<unique name>, created, sized and mapped read-write; removed
// with the object.
class SharedMemoryFile {
public:
    explicit SharedMemoryFile(std::uint64_t length, std::uint64_t file_length = 0)
    {
        std::random_device random;
        name_ = "ava_test_shm_" + std::to_string(::getpid()) + "_" + std::to_string(random());
        path_ = "/dev/shm/" + name_;
        const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            throw std::runtime_error("cannot create " + path_);
        }
        const auto size = file_length != 0 ? file_length : length;
        if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
            ::close(fd);
            throw std::runtime_error("cannot size " + path_);
        }
        void* address = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ::close(fd);
        if (address == MAP_FAILED) {
            throw std::runtime_error("cannot map " + path_);
        }
        data_ = static_cast<std::uint8_t*>(address);
        size_ = size;
    }
    SharedMemoryFile(const SharedMemoryFile&) = delete;
    SharedMemoryFile& operator=(const SharedMemoryFile&) = delete;
    ~SharedMemoryFile()
    {
        ::munmap(data_, size_);
        ::unlink(path_.c_str());
    }

    const std::string& name() const noexcept { return name_; }
    std::span<std::uint8_t> bytes() noexcept { return {data_, size_}; }
    void write(std::uint64_t offset, const std::string& frame) { std::memcpy(data_ + offset, frame.data(), frame.size()); }

private:
    std::string name_;
    std::string path_;
    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

struct SessionResult {
    grpc::Status status;
    std::vector<MediaStreamMessage> replies; // after the descriptor reply
    MediaStreamMessage descriptor_reply;
    std::string error; // a protocol violation seen by the client ("" = none)
};

// The "done when" session: descriptor, then `frames` RAW BGR24 frames through shared memory,
// alternating black and white, with at most `slots` in flight (a slot is reused only once its frame is
// acknowledged, as AVA does). Checks numbering and classification; returns what happened.
inline SessionResult run_shared_memory_session(const std::shared_ptr<grpc::Channel>& channel, int frames,
                                               const std::string& pipeline = "shm-pipeline", std::size_t slots = 8,
                                               const std::vector<std::pair<std::string, std::string>>& metadata = {})
{
    constexpr std::uint32_t width = 64, height = 48, stride = width * 3;
    const std::uint64_t frame_size = std::uint64_t{stride} * height;
    SharedMemoryFile shm(frame_size * slots);
    const std::string black = solid_raw_frame(width, height, stride, {0, 0, 0});
    const std::string white = solid_raw_frame(width, height, stride, {255, 255, 255});

    SessionResult result;
    StreamClient client(channel, metadata);
    DescriptorSpec spec;
    spec.pipeline = pipeline;
    spec.width = width;
    spec.height = height;
    spec.stride = stride;
    spec.shm_handle = shm.name();
    spec.shm_length = shm.bytes().size();
    if (!client.send(descriptor_message(spec)) || !client.read(result.descriptor_reply)) {
        result.status = client.finish();
        result.error = "handshake failed";
        return result;
    }
    // Client sequence numbers: descriptor 1, frame i (0-based) 2 + i; frame i lives in slot i % slots.
    int sent = 0;
    int acked = 0;
    std::uint64_t expected_server_sequence = 2;
    const auto send_next = [&] {
        const auto offset = static_cast<std::uint64_t>(sent % static_cast<int>(slots)) * frame_size;
        shm.write(offset, sent % 2 == 0 ? black : white);
        const bool ok = client.send(shared_sample(2 + static_cast<std::uint64_t>(sent),
                                                  1000u * static_cast<std::uint64_t>(sent), offset, frame_size));
        ++sent;
        return ok;
    };
    while (sent < frames && sent < static_cast<int>(slots)) {
        send_next();
    }
    MediaStreamMessage reply;
    while (acked < frames && client.read(reply)) {
        const auto expected_ack = 2 + static_cast<std::uint64_t>(acked);
        if (result.error.empty()) {
            if (reply.ack_sequence_number() != expected_ack) {
                result.error = "reply " + std::to_string(acked) + " acks " + std::to_string(reply.ack_sequence_number()) +
                               ", expected " + std::to_string(expected_ack);
            } else if (reply.sequence_number() != expected_server_sequence) {
                result.error = "reply " + std::to_string(acked) + " has sequence_number " +
                               std::to_string(reply.sequence_number());
            } else if (reply.media_sample().timestamp() != 1000u * static_cast<std::uint64_t>(acked)) {
                result.error = "reply " + std::to_string(acked) + " has the wrong timestamp";
            } else if (intensity_of(reply) != (acked % 2 == 0 ? "dark" : "light")) {
                result.error = "reply " + std::to_string(acked) + " classified '" + intensity_of(reply) + "'";
            }
        }
        ++expected_server_sequence;
        result.replies.push_back(reply);
        ++acked;
        if (sent < frames) {
            send_next(); // the acked frame's slot is free again
        }
    }
    client.writes_done();
    result.status = client.drain_and_finish();
    return result;
}

} // namespace ava::test
