#pragma once
// Frame: decoded pixels as an analyzer sees them. `image` either owns its pixels (decoded or converted) or
// wraps bytes someone else owns (RAW body, gRPC message, shared-memory mapping) without copying: the
// caller keeps that owner alive until processing ends. A decoded image holds its share of the host's
// memory budget until the Frame is destroyed.

#include "runtime/memory_budget.h"

#include <ava_plugin.h>

#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <stdexcept>

namespace ava::frames {

class SharedMemoryMapping;

struct Frame {
    cv::Mat image;
    ava_pixel_format format = AVA_PIXEL_FORMAT_UNKNOWN;
    std::uint64_t timestamp = 0;
    // The size the sender sent; `image` may be smaller (what the analyzer declared it needs: input_request.h).
    std::uint32_t sent_width = 0;
    std::uint32_t sent_height = 0;
    runtime::MemoryBudget::Reservation reservation; // empty unless decoded under a budget
    // The sender's shared memory the frame was read from (null otherwise). `image` may still own converted
    // pixels: only pixels lying inside the mapping are read in place by an analyzer worker process.
    const SharedMemoryMapping* shared_memory = nullptr;

    ava_frame to_abi() const noexcept
    {
        ava_frame frame{};
        frame.struct_size = sizeof frame;
        frame.data = image.data;
        frame.width = static_cast<std::uint32_t>(image.cols);
        frame.height = static_cast<std::uint32_t>(image.rows);
        frame.stride_bytes = static_cast<std::uint32_t>(image.step[0]);
        frame.pixel_format = format;
        frame.timestamp = timestamp;
        return frame;
    }
};

// Bad input from the sender (the frame cannot be decoded or does not match its description): 400 for
// HTTP, INVALID_ARGUMENT for gRPC. what() says what was wrong.
class FrameError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The host has no memory left for decoding this frame right now (too many frame bytes in flight across
// all clients). Not the sender's fault, and not derived from FrameError: HTTP 503 + Retry-After, gRPC
// RESOURCE_EXHAUSTED.
class FrameBudgetExceeded : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace ava::frames
