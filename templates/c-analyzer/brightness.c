/*
 * brightness: a complete small analyzer plugin in C, the starting point for your own (../README.md).
 *
 * For every frame it samples the luma on a grid and answers one classification, "bright" or "dark", with
 * how sure it is. It keeps no state between frames, so it declares AVA_CONCURRENCY_FULL: the host may call
 * process() from several threads at once, even on one session.
 *
 * Rename: change ANALYZER_NAME (it is also the HTTP path, /brightness) and the target in CMakeLists.txt.
 */
#include <ava_plugin.h>
#include <ava_plugin_pixels.h>

#include <stdio.h>
#include <stdlib.h>

#define ANALYZER_NAME "brightness"
#define ANALYZER_VERSION "1.0.0"
#define GRID 16 /* samples per row and column: enough for a mean, cheap at any frame size */

/* The instance: what create() read from its configuration. This analyzer has none, but keeps the shape. */
typedef struct instance {
    int threshold; /* mean luma at or above which a frame is "bright" */
} instance;

/* One stream. Nothing per stream here; a stateful analyzer (motion) keeps its previous frame in it. */
typedef struct session {
    const instance* owner;
} session;

static ava_status create(const char* config_json, void** out, ava_error* error)
{
    instance* self;
    (void)config_json; /* "{}" unless the route configures something; this analyzer takes no configuration */
    self = (instance*)calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(error->message, sizeof error->message, "out of memory");
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    self->threshold = 128;
    *out = self;
    return AVA_STATUS_OK;
}

static void destroy(void* self) { free(self); }

static ava_status open_stream(void* owner, const ava_stream_info* info, void** out, ava_error* error)
{
    session* self;
    /* info->pixel_format is UNKNOWN when frames may come in any format (HTTP): every format is read below. */
    if (info->pixel_format != AVA_PIXEL_FORMAT_UNKNOWN && ava_bytes_per_pixel(info->pixel_format) == 0) {
        snprintf(error->message, sizeof error->message, "pixel format %d is not supported", (int)info->pixel_format);
        return AVA_STATUS_UNSUPPORTED;
    }
    self = (session*)calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(error->message, sizeof error->message, "out of memory");
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    self->owner = (const instance*)owner;
    *out = self;
    return AVA_STATUS_OK;
}

static void close_stream(void* self) { free(self); }

static ava_status process(void* opaque, const ava_frame* frame, const ava_result_sink* sink, ava_error* error)
{
    const session* self = (const session*)opaque;
    unsigned long sum = 0;
    unsigned count = 0;
    unsigned gx, gy;
    double mean, confidence;
    int bright;
    if (!ava_frame_is_readable(frame)) {
        snprintf(error->message, sizeof error->message, "cannot read a %ux%u frame in pixel format %d",
                 frame->width, frame->height, (int)frame->pixel_format);
        return ava_bytes_per_pixel(frame->pixel_format) == 0 ? AVA_STATUS_UNSUPPORTED : AVA_STATUS_INVALID_ARGUMENT;
    }
    for (gy = 0; gy < GRID; ++gy) {
        for (gx = 0; gx < GRID; ++gx) {
            /* The centre of each grid cell; small frames simply sample some pixels more than once. */
            const uint32_t x = (uint32_t)(((2 * gx + 1) * (uint64_t)frame->width) / (2 * GRID));
            const uint32_t y = (uint32_t)(((2 * gy + 1) * (uint64_t)frame->height) / (2 * GRID));
            sum += (unsigned long)ava_pixel_luma(frame, x, y);
            ++count;
        }
    }
    mean = (double)sum / count;
    bright = mean >= self->owner->threshold;
    /* How far from the threshold, scaled to 0.5..1: at the threshold it could go either way. */
    confidence = 0.5 + 0.5 * (bright ? (mean - self->owner->threshold) / (255.0 - self->owner->threshold)
                                      : (self->owner->threshold - mean) / self->owner->threshold);
    {
        ava_inference_meta meta = {0};
        meta.struct_size = sizeof meta;
        meta.subtype = "brightness";
        /* The sink copies everything: nothing passed to it needs to outlive the call. */
        return sink->classification(sink->context, &meta, bright ? "bright" : "dark", (float)confidence);
    }
}

static const ava_plugin_descriptor descriptor = {
    AVA_PLUGIN_ABI_MAJOR, AVA_PLUGIN_ABI_MINOR, sizeof(ava_plugin_descriptor),
    ANALYZER_NAME, ANALYZER_VERSION, "Classifies frames as bright or dark (template C analyzer)",
    AVA_CONCURRENCY_FULL,
    create, destroy, open_stream, close_stream, process,
};

AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
