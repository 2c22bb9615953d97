/*
 * brightness: a complete small analyzer plugin in C, the starting point for your own (../README.md).
 *
 * For every frame it samples the luma on a grid and answers one classification, "bright" or "dark", with
 * how sure it is. It keeps no state between frames, so it declares AVA_CONCURRENCY_FULL: the host may call
 * process() from several threads at once, even on one session.
 *
 * Parameter "threshold" (mean luma from which a frame is bright, 0..255, default 128), in the route's
 * configuration or per stream (HTTP query: /brightness?threshold=100). The plugin declares it in a JSON Schema
 * (ABI 1.1): the host refuses a bad value before calling the plugin, so the code below only reads values,
 * through the host's typed getters (ava_parameters), and parses no JSON.
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

#define DEFAULT_THRESHOLD 128.0

/* What the host checks every configuration and every stream's parameters against (JSON Schema draft-04). */
static const char parameters_schema[] =
    "{\"type\": \"object\", \"additionalProperties\": false, \"properties\": {"
    "\"threshold\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 255,"
    " \"description\": \"mean luma from which a frame is bright (default 128)\"}}}";

/* The instance: what create() read from its configuration. */
typedef struct instance {
    double threshold; /* mean luma at or above which a frame is "bright" */
} instance;

/* One stream: its threshold (the stream's own, else the configuration's). A stateful analyzer (motion)
 * would also keep its previous frame here. */
typedef struct session {
    double threshold;
} session;

/* The value of `name`, or `fallback` when it is not set. The host checked it against the schema, so a wrong
 * type cannot occur; the fallback covers it anyway. */
static double number_or(const ava_parameters* parameters, const char* name, double fallback)
{
    double value = fallback;
    return parameters != NULL && parameters->get_number(parameters, name, &value) == AVA_PARAMETER_OK ? value
                                                                                                   : fallback;
}

static ava_status create_instance(const ava_parameters* config, void** out, ava_error* error)
{
    instance* self = (instance*)calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(error->message, sizeof error->message, "out of memory");
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    self->threshold = number_or(config, "threshold", DEFAULT_THRESHOLD);
    *out = self;
    return AVA_STATUS_OK;
}

/* What a host of ABI 1.1 or later calls: the configuration through typed getters. */
static ava_status create_with_parameters(const char* config_json, const ava_parameters* config, void** out,
                                         ava_error* error)
{
    (void)config_json; /* the same values, as JSON */
    return create_instance(config, out, error);
}

/* What an ABI 1.0 host calls (it has no getters): the defaults. */
static ava_status create(const char* config_json, void** out, ava_error* error)
{
    (void)config_json;
    return create_instance(NULL, out, error);
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
    /* The stream's parameters layered over the configuration; a 1.0 host passes no getters. */
    self->threshold = AVA_HAS_FIELD(info, ava_stream_info, parameters)
                          ? number_or(info->parameters, "threshold", ((const instance*)owner)->threshold)
                          : ((const instance*)owner)->threshold;
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
    bright = mean >= self->threshold;
    /* How far from the threshold, scaled to 0.5..1: at the threshold it could go either way (and at the
     * ends of the range, where the distance to it is 0, the answer is certain). */
    if (bright) {
        confidence = self->threshold >= 255.0 ? 1.0 : 0.5 + 0.5 * (mean - self->threshold) / (255.0 - self->threshold);
    } else {
        confidence = self->threshold <= 0.0 ? 1.0 : 0.5 + 0.5 * (self->threshold - mean) / self->threshold;
    }
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
    /* ABI 1.1: the configuration and the stream parameters take the same names (streams layer over it). */
    parameters_schema, parameters_schema, create_with_parameters,
    /* ABI 1.2: the input it needs. A grid of luma samples needs no colour and few pixels, so the host may
     * decode a JPEG straight to gray at 1/2, 1/4 or 1/8 scale while both sides stay at least 64: far
     * cheaper than a full decode. Declare 0, 0, 0, 0 to get every frame as sent. */
    AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_GRAY8), 64, 64, 0
};

AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
