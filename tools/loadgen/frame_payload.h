#pragma once
// FramePayload: the bytes every simulated camera sends, built once per run (raw pixels or an encoded
// picture) and shared read-only by all streams and connections.

#include "load_options.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ava::loadgen {

struct FramePayload {
    std::vector<std::uint8_t> bytes;
    std::string content_type; // HTTP Content-Type for these bytes
    std::uint32_t stride = 0; // raw: bytes per row

    std::span<const std::uint8_t> view() const noexcept { return bytes; }
};

// Throws std::runtime_error when --image cannot be read or the picture cannot be encoded.
FramePayload make_payload(const LoadOptions& options);

} // namespace ava::loadgen
