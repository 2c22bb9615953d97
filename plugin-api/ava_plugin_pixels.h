/*
 * ava_plugin_pixels.h — optional pixel-format helpers for plugins written in C or C++ (header-only, C99,
 * no dependencies). Reads one pixel of an ava_frame in any of its formats, so a small analyzer needs no
 * image library:
 *
 *     uint8_t rgb[3];
 *     if (ava_pixel_rgb(frame, x, y, rgb)) { ... }
 *
 * Analyzers that need real image processing wrap frame->data in their library's image type instead
 * (stride_bytes apart rows, ava_bytes_per_pixel() bytes per pixel).
 */
#ifndef AVA_PLUGIN_PIXELS_H
#define AVA_PLUGIN_PIXELS_H

#include "ava_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes one pixel takes; 0 for a format this header does not know (the caller answers UNSUPPORTED). */
static inline uint32_t ava_bytes_per_pixel(ava_pixel_format format)
{
    switch (format) {
    case AVA_PIXEL_FORMAT_GRAY8: return 1;
    case AVA_PIXEL_FORMAT_BGR24:
    case AVA_PIXEL_FORMAT_RGB24: return 3;
    case AVA_PIXEL_FORMAT_BGRA32:
    case AVA_PIXEL_FORMAT_RGBA32: return 4;
    default: return 0;
    }
}

/* Non-zero when the frame can be read safely: known format, pixels present, rows at least one row long. */
static inline int ava_frame_is_readable(const ava_frame* frame)
{
    const uint32_t bpp = frame != NULL ? ava_bytes_per_pixel(frame->pixel_format) : 0;
    return bpp != 0 && frame->data != NULL && frame->width != 0 && frame->height != 0 &&
           (uint64_t)frame->stride_bytes >= (uint64_t)frame->width * bpp;
}

/* Red, green, blue of pixel (x, y) into rgb[0..2]; returns 0 (and leaves rgb alone) when the frame is not
 * readable or (x, y) lies outside it. Alpha is ignored. */
static inline int ava_pixel_rgb(const ava_frame* frame, uint32_t x, uint32_t y, uint8_t rgb[3])
{
    const uint8_t* p;
    if (!ava_frame_is_readable(frame) || x >= frame->width || y >= frame->height) {
        return 0;
    }
    p = frame->data + (size_t)y * frame->stride_bytes + (size_t)x * ava_bytes_per_pixel(frame->pixel_format);
    switch (frame->pixel_format) {
    case AVA_PIXEL_FORMAT_GRAY8: rgb[0] = rgb[1] = rgb[2] = p[0]; break;
    case AVA_PIXEL_FORMAT_BGR24:
    case AVA_PIXEL_FORMAT_BGRA32: rgb[0] = p[2]; rgb[1] = p[1]; rgb[2] = p[0]; break;
    default: rgb[0] = p[0]; rgb[1] = p[1]; rgb[2] = p[2]; break; /* RGB24, RGBA32 */
    }
    return 1;
}

/* Luma (BT.601, 0..255) of pixel (x, y); -1 when the frame is not readable or (x, y) lies outside it. */
static inline int ava_pixel_luma(const ava_frame* frame, uint32_t x, uint32_t y)
{
    uint8_t rgb[3];
    if (!ava_pixel_rgb(frame, x, y, rgb)) {
        return -1;
    }
    return (299 * rgb[0] + 587 * rgb[1] + 114 * rgb[2] + 500) / 1000;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AVA_PLUGIN_PIXELS_H */
