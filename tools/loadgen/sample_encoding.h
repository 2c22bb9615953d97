#pragma once
// Wire encoding of a MediaStreamMessage carrying a MediaSample, written by hand so an embedded frame is
// never copied by the load generator: the message is a small header followed by the frame bytes, sent
// as two gRPC slices, the second pointing at the shared payload. Equivalent to the generated code's
// output (tests/loadgen checks it parses back with the generated classes).

#include <cstdint>
#include <string>

namespace ava::loadgen {

// Everything of a MediaStreamMessage{sequence_number, media_sample{timestamp, content_bytes{bytes}}}
// except the frame bytes themselves, which must follow immediately.
std::string embedded_sample_header(std::uint64_t sequence_number, std::uint64_t timestamp, std::uint64_t frame_bytes);

// A whole MediaStreamMessage{sequence_number, media_sample{timestamp, content_reference{offset, length}}}.
std::string shared_memory_sample(std::uint64_t sequence_number, std::uint64_t timestamp, std::uint64_t offset,
                                 std::uint64_t length);

} // namespace ava::loadgen
