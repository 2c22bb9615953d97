#include "sample_encoding.h"

namespace ava::loadgen {
namespace {

// Protobuf wire format: key = field_number << 3 | wire type (0 varint, 2 length-delimited).
constexpr std::uint8_t varint_key(unsigned field) { return static_cast<std::uint8_t>(field << 3); }
constexpr std::uint8_t bytes_key(unsigned field) { return static_cast<std::uint8_t>(field << 3 | 2); }

void put_varint(std::string& out, std::uint64_t value)
{
    while (value >= 0x80) {
        out.push_back(static_cast<char>(static_cast<std::uint8_t>(value) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

std::size_t varint_size(std::uint64_t value)
{
    std::size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        ++n;
    }
    return n;
}

// Field numbers from the contract (media.proto / extension.proto).
constexpr unsigned message_sequence_number = 1;
constexpr unsigned message_media_sample = 6;
constexpr unsigned sample_timestamp = 1;
constexpr unsigned sample_content_bytes = 5;
constexpr unsigned sample_content_reference = 6;
constexpr unsigned content_bytes_bytes = 1;
constexpr unsigned reference_offset = 1;
constexpr unsigned reference_length = 2;

// The MediaStreamMessage fields before the sample's own bytes.
void put_message_header(std::string& out, std::uint64_t sequence_number, std::uint64_t sample_size)
{
    out.push_back(static_cast<char>(varint_key(message_sequence_number)));
    put_varint(out, sequence_number);
    out.push_back(static_cast<char>(bytes_key(message_media_sample)));
    put_varint(out, sample_size);
}

} // namespace

std::string embedded_sample_header(std::uint64_t sequence_number, std::uint64_t timestamp, std::uint64_t frame_bytes)
{
    const std::uint64_t content_size = 1 + varint_size(frame_bytes) + frame_bytes;
    const std::uint64_t sample_size = 1 + varint_size(timestamp) + 1 + varint_size(content_size) + content_size;
    std::string out;
    out.reserve(40);
    put_message_header(out, sequence_number, sample_size);
    out.push_back(static_cast<char>(varint_key(sample_timestamp)));
    put_varint(out, timestamp);
    out.push_back(static_cast<char>(bytes_key(sample_content_bytes)));
    put_varint(out, content_size);
    out.push_back(static_cast<char>(bytes_key(content_bytes_bytes)));
    put_varint(out, frame_bytes);
    return out;
}

std::string shared_memory_sample(std::uint64_t sequence_number, std::uint64_t timestamp, std::uint64_t offset,
                                 std::uint64_t length)
{
    const std::uint64_t reference_size = 1 + varint_size(offset) + 1 + varint_size(length);
    const std::uint64_t sample_size = 1 + varint_size(timestamp) + 1 + varint_size(reference_size) + reference_size;
    std::string out;
    out.reserve(48);
    put_message_header(out, sequence_number, sample_size);
    out.push_back(static_cast<char>(varint_key(sample_timestamp)));
    put_varint(out, timestamp);
    out.push_back(static_cast<char>(bytes_key(sample_content_reference)));
    put_varint(out, reference_size);
    out.push_back(static_cast<char>(varint_key(reference_offset)));
    put_varint(out, offset);
    out.push_back(static_cast<char>(varint_key(reference_length)));
    put_varint(out, length);
    return out;
}

} // namespace ava::loadgen
