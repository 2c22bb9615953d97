#pragma once
// The largest images the host decodes. Shared by our own header check (frame_decoder.cpp) and the limits
// handed to OpenCV's decoder (image_codecs.cpp), so both layers refuse the same images.

#include <cstdint>

namespace ava::frames {

// Largest frame along one side: beyond any camera, small enough that width*height*4 never overflows and
// a lying header cannot make us allocate gigabytes.
inline constexpr std::uint32_t max_dimension = 16384;
// Largest compressed image we decode, in pixels: 64 Mpx (an 8K UHD frame is 33 Mpx), at most 192 MiB as BGR.
inline constexpr std::uint64_t max_pixels = std::uint64_t{1} << 26;

} // namespace ava::frames
