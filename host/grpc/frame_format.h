#pragma once
// FrameFormat: what a stream's descriptor says its frames are (compressed image or raw pixel layout), and
// how one MediaSample becomes a Frame: embedded bytes or a slice of the shared-memory mapping, RAW wrapped
// in place where analyzers can read it, compressed images decoded once with OpenCV.

#include "contract.h"

#include "frames/frame.h"
#include "frames/frame_decoder.h"
#include "frames/shared_memory_mapping.h"

#include <optional>
#include <string>

namespace ava::grpc_frontend {

struct FrameFormat {
    std::optional<frames::ImageEncoding> image; // set: JPG/PNG/BMP; unset: RAW
    frames::RawLayout raw;                      // RAW only
    std::uint32_t width = 0;                    // as described (0 for images that did not say)
    std::uint32_t height = 0;
    ava_pixel_format analyzer_format = AVA_PIXEL_FORMAT_UNKNOWN; // what wrap_raw/decode_image produce
    frames::InputRequest input; // what the stream's analyzer declared it needs (set once it is resolved)

    // The size and format the analyzer is handed (0x0 for images that did not say their size).
    frames::FrameSize delivered_size() const;
    ava_pixel_format delivered_format() const;

    std::string describe() const; // "RAW bgr24 640x480 stride 1920", "JPG 416x416"
};

// Validates the descriptor's media format. Throws StreamError(INVALID_ARGUMENT) saying what is wrong.
FrameFormat frame_format_of(const contract::MediaDescriptor& media);

// The AVA pixel format's counterpart, or nullopt for NONE and values outside the contract.
std::optional<frames::RawPixelFormat> raw_pixel_format_of(int pixel_format);

// The frame a sample carries, as the analyzer asked for it (format.input). `mapping` is the stream's shared
// memory (null when it has none). The Frame
// may point into the sample's bytes or the mapping: keep both alive while it is in use. A decoded image's
// pixels are reserved from `budget` (null: none) for as long as the Frame lives.
// A RAW shared-memory reference longer than the frame is read for exactly the frame's bytes from its
// offset (Intel's slot allocator sends one byte more), and `*longer_reference` (if given) is set.
// Throws FrameError (bad content) — the caller says which sample — or FrameBudgetExceeded.
frames::Frame frame_of(const contract::MediaSample& sample, const FrameFormat& format,
                       const frames::SharedMemoryMapping* mapping, runtime::MemoryBudget* budget = nullptr,
                       bool* longer_reference = nullptr);

} // namespace ava::grpc_frontend
