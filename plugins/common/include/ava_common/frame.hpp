// Frame access for analyzer plugins: every ava_pixel_format, any size, any stride.
#ifndef AVA_COMMON_FRAME_HPP
#define AVA_COMMON_FRAME_HPP

#include <ava_plugin.h>

#include <opencv2/core.hpp>

namespace ava::common {

// The colour layout an analyzer wants its pixels in.
enum class Layout { gray, bgr, rgb };

// Wraps the host's frame in a cv::Mat without copying (CV_8UC1/3/4 by pixel format, the frame's stride).
// Throws ava::plugin::Error: INVALID_ARGUMENT for a malformed frame (null data, zero size, stride shorter
// than a row), UNSUPPORTED for an unknown pixel format. The Mat aliases host memory that is read-only and
// valid only during process(): never write through it, never keep it.
cv::Mat wrap(const ava_frame& frame);

// Bytes per pixel of a format; 0 for an unknown one.
int bytes_per_pixel(ava_pixel_format format) noexcept;

// The frame in `layout`, scaled down by `scale` (0 < scale <= 1; 1 keeps the size), shrinking whichever
// of the frame and the result has fewer channels (cheaper; same pixels up to rounding). May alias the host's frame when nothing needs doing (then treat it
// as read-only and do not keep it past process()).
cv::Mat convert(const ava_frame& frame, Layout layout, double scale = 1.0);

// Pixel buffers convert() may reuse from frame to frame: a fresh frame-sized cv::Mat is a fresh mmap whose
// pages fault in on every call (~1 ms of a 768x576 frame). One per concurrent call (see Pool); the result
// may alias them, so it lives until the next call with the same buffers.
struct Buffers {
    cv::Mat converted;
    cv::Mat shrunk;
};
cv::Mat convert(const ava_frame& frame, Layout layout, double scale, Buffers& buffers);

// Scale (<= 1) that brings `size` within max_width pixels wide; max_width 0 means "no limit".
double fit_width(cv::Size size, int max_width) noexcept;

} // namespace ava::common

#endif
