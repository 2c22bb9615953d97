#include "media_stream_client.h"

#include <opencv2/imgcodecs.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <vector>

namespace ava::replay {
namespace {

std::string base64(const std::string& in)
{
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const auto n = (static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16) |
                       (static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8) | static_cast<uint8_t>(in[i + 2]);
        for (int shift : {18, 12, 6, 0}) {
            out += alphabet[(n >> shift) & 63U];
        }
    }
    if (const std::size_t rest = in.size() - i; rest > 0) {
        uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16;
        if (rest == 2) {
            n |= static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8;
        }
        out += alphabet[(n >> 18) & 63U];
        out += alphabet[(n >> 12) & 63U];
        out += rest == 2 ? alphabet[(n >> 6) & 63U] : '=';
        out += '=';
    }
    return out;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

contract::VideoFrameSampleFormat::Encoding encoding_of(Encoding e)
{
    switch (e) {
    case Encoding::jpg: return contract::VideoFrameSampleFormat::JPG;
    case Encoding::png: return contract::VideoFrameSampleFormat::PNG;
    case Encoding::bmp: return contract::VideoFrameSampleFormat::BMP;
    case Encoding::raw: break;
    }
    return contract::VideoFrameSampleFormat::RAW;
}

} // namespace

// A file in /dev/shm holding `slots` raw frames, written by us and read (read-only) by the host. Removed
// when the stream ends. Mode 0644 so a host running as another user can read it.
class MediaStreamClient::SharedMemory {
public:
    SharedMemory(std::size_t slot_bytes, std::size_t slots) : slot_bytes_(slot_bytes), size_(slot_bytes * slots)
    {
        std::random_device random;
        name_ = "ava-replay-" + std::to_string(::getpid()) + "-" + std::to_string(random());
        fd_ = ::shm_open(("/" + name_).c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            throw std::runtime_error("cannot create shared memory /dev/shm/" + name_ + ": " + std::strerror(errno));
        }
        ::fchmod(fd_, 0644); // whatever the umask
        if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
            const std::string error = std::strerror(errno);
            cleanup();
            throw std::runtime_error("cannot size shared memory to " + std::to_string(size_) + " bytes: " + error);
        }
        void* address = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
        if (address == MAP_FAILED) {
            const std::string error = std::strerror(errno);
            cleanup();
            throw std::runtime_error("cannot map shared memory: " + error);
        }
        data_ = static_cast<uint8_t*>(address);
    }
    ~SharedMemory() { cleanup(); }
    SharedMemory(const SharedMemory&) = delete;
    SharedMemory& operator=(const SharedMemory&) = delete;

    const std::string& name() const { return name_; }
    std::size_t size() const { return size_; }
    // Copies a frame into slot `index % slots`; returns its offset in the file.
    uint64_t put(uint64_t index, const std::string& bytes)
    {
        const std::size_t offset = (index % (size_ / slot_bytes_)) * slot_bytes_;
        std::memcpy(data_ + offset, bytes.data(), std::min(bytes.size(), slot_bytes_));
        return offset;
    }

private:
    void cleanup() noexcept
    {
        if (data_ != nullptr) {
            ::munmap(data_, size_);
            data_ = nullptr;
        }
        if (fd_ >= 0) {
            ::close(fd_);
            ::shm_unlink(("/" + name_).c_str());
            fd_ = -1;
        }
    }

    std::string name_;
    std::size_t slot_bytes_;
    std::size_t size_;
    int fd_ = -1;
    uint8_t* data_ = nullptr;
};

MediaStreamClient::MediaStreamClient(StreamOptions options, AckHandler on_ack)
    : options_(std::move(options)), on_ack_(std::move(on_ack))
{
    if (options_.size.width <= 0 || options_.size.height <= 0) {
        throw std::invalid_argument("frame size not set");
    }
    if (options_.window == 0) {
        throw std::invalid_argument("window must be at least 1");
    }
    if (options_.transfer == Transfer::shared_memory && options_.encoding != Encoding::raw) {
        throw std::invalid_argument("shared memory carries raw frames only");
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    args.SetMaxSendMessageSize(-1);
    auto credentials = options_.tls_ca_file.empty()
                           ? grpc::InsecureChannelCredentials()
                           : grpc::SslCredentials(grpc::SslCredentialsOptions{read_file(options_.tls_ca_file), "", ""});
    channel_ = grpc::CreateCustomChannel(options_.target, credentials, args);
    if (!channel_->WaitForConnected(std::chrono::system_clock::now() + options_.connect_timeout)) {
        throw std::runtime_error("cannot connect to " + options_.target + " within " +
                                 std::to_string(options_.connect_timeout.count()) + " s");
    }
    stub_ = contract::MediaGraphExtension::NewStub(channel_);
    if (!options_.username.empty()) {
        context_.AddMetadata("x-ms-authentication", "Basic " + base64(options_.username + ":" + options_.password));
    }

    const std::size_t row_bytes = static_cast<std::size_t>(options_.size.width) * 3;
    if (options_.transfer == Transfer::shared_memory) {
        shared_memory_ = std::make_unique<SharedMemory>(row_bytes * static_cast<std::size_t>(options_.size.height),
                                                        options_.window);
    }

    contract::MediaStreamMessage message;
    message.set_sequence_number(next_sequence_++);
    auto& descriptor = *message.mutable_media_stream_descriptor();
    descriptor.mutable_graph_identifier()->set_graph_instance_name(options_.pipeline);
    descriptor.mutable_graph_identifier()->set_graph_node_name(options_.node);
    descriptor.set_extension_configuration(options_.extension_configuration);
    auto& media = *descriptor.mutable_media_descriptor();
    media.set_timescale(options_.timescale);
    auto& format = *media.mutable_video_frame_sample_format();
    format.set_encoding(encoding_of(options_.encoding));
    format.mutable_dimensions()->set_width(static_cast<uint32_t>(options_.size.width));
    format.mutable_dimensions()->set_height(static_cast<uint32_t>(options_.size.height));
    if (options_.encoding == Encoding::raw) {
        format.set_pixel_format(contract::VideoFrameSampleFormat::BGR24);
        format.set_stride_bytes(static_cast<uint32_t>(row_bytes));
    }
    if (shared_memory_) {
        auto& shared = *descriptor.mutable_shared_memory_buffer_transfer_properties();
        shared.set_handle_name(shared_memory_->name());
        shared.set_length_bytes(shared_memory_->size());
    }

    stream_ = stub_->ProcessMediaStream(&context_);
    contract::MediaStreamMessage reply;
    if (!stream_->Write(message) || !stream_->Read(&reply) || !reply.has_media_stream_descriptor()) {
        stream_->WritesDone();
        const grpc::Status status = stream_->Finish();
        throw std::runtime_error("stream refused by " + options_.target + ": " +
                                 (status.ok() ? std::string("no descriptor in reply") : status.error_message()));
    }
    extension_identifier_ = reply.media_stream_descriptor().extension_identifier();
    reader_ = std::thread([this] { read_acks(); });
}

MediaStreamClient::~MediaStreamClient()
{
    if (reader_.joinable()) {
        context_.TryCancel(); // unblocks the reader's Read
        reader_.join();
        if (!status_) {
            stream_->Finish();
        }
    }
}

std::string MediaStreamClient::encode(const cv::Mat& bgr) const
{
    if (options_.encoding == Encoding::raw) {
        const cv::Mat packed = bgr.isContinuous() ? bgr : bgr.clone();
        return {reinterpret_cast<const char*>(packed.data), packed.total() * packed.elemSize()};
    }
    static constexpr const char* extensions[] = {".raw", ".jpg", ".png", ".bmp"};
    std::vector<uint8_t> bytes;
    if (!cv::imencode(extensions[static_cast<int>(options_.encoding)], bgr, bytes)) {
        throw std::runtime_error("cannot encode the frame");
    }
    return {bytes.begin(), bytes.end()};
}

uint64_t MediaStreamClient::send(const cv::Mat& bgr, uint64_t timestamp)
{
    if (bgr.size() != options_.size || bgr.type() != CV_8UC3) {
        throw std::invalid_argument("every frame of a stream must be BGR of the descriptor's size");
    }
    const std::string bytes = encode(bgr);
    contract::MediaStreamMessage message;
    const uint64_t sequence = next_sequence_++;
    message.set_sequence_number(sequence);
    auto& sample = *message.mutable_media_sample();
    sample.set_timestamp(timestamp);
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return in_flight_ < options_.window || reader_done_; });
        if (reader_done_) {
            throw std::runtime_error("the stream has ended" +
                                     (protocol_error_.empty() ? std::string() : ": " + protocol_error_));
        }
        // The slot of the frame `window` before this one is free: that frame has been acknowledged.
        ++in_flight_;
        sent_at_[sequence] = std::chrono::steady_clock::now();
    }
    if (shared_memory_) {
        auto& reference = *sample.mutable_content_reference();
        reference.set_address_offset(shared_memory_->put(sequence, bytes));
        reference.set_length_bytes(bytes.size());
    } else {
        sample.mutable_content_bytes()->set_bytes(bytes);
    }
    if (!stream_->Write(message)) {
        throw std::runtime_error("the stream has ended (the host closed it)");
    }
    return sequence;
}

void MediaStreamClient::read_acks()
{
    contract::MediaStreamMessage message;
    while (stream_->Read(&message)) {
        if (!message.has_media_sample()) {
            continue;
        }
        Ack ack;
        ack.sequence = message.ack_sequence_number();
        ack.timestamp = message.media_sample().timestamp();
        {
            const std::lock_guard lock(mutex_);
            const auto it = sent_at_.find(ack.sequence);
            if (it == sent_at_.end() || it != sent_at_.begin()) {
                protocol_error_ = "acknowledgement of sequence number " + std::to_string(ack.sequence) +
                                  (it == sent_at_.end() ? ", which is not in flight" : " out of order");
                break;
            }
            ack.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                                it->second);
            sent_at_.erase(it);
        }
        ack.sample = std::move(*message.mutable_media_sample());
        if (on_ack_) {
            try {
                on_ack_(ack);
            } catch (const std::exception& e) {
                const std::lock_guard lock(mutex_);
                protocol_error_ = std::string("handling an acknowledgement failed: ") + e.what();
                break;
            }
        }
        {
            const std::lock_guard lock(mutex_);
            --in_flight_;
        }
        changed_.notify_all();
    }
    {
        const std::lock_guard lock(mutex_);
        reader_done_ = true;
    }
    changed_.notify_all();
    if (!protocol_error_.empty()) {
        context_.TryCancel();
    }
}

grpc::Status MediaStreamClient::finish()
{
    if (status_) {
        return *status_;
    }
    if (!writes_done_) {
        writes_done_ = true;
        stream_->WritesDone();
    }
    reader_.join();
    status_ = stream_->Finish();
    if (!protocol_error_.empty()) {
        status_ = grpc::Status(grpc::StatusCode::INTERNAL, "protocol error: " + protocol_error_);
    }
    return *status_;
}

} // namespace ava::replay
