/* probe — a test analyzer written in plain C99 against ava_plugin.h only. It exercises every inference
 * kind and every failure path the host must handle. Parameter "mode" (crudely matched: C has no JSON
 * parser and a test plugin needs none):
 *   all (default)  one inference of each kind: classification "<W>x<H>", entity, motion, event, text, other
 *   empty          no inference (HTTP 204)
 *   fail           process() fails with AVA_STATUS_INTERNAL (HTTP 500)
 *   everythirdfails  the 3rd, 6th, ... frame of a stream fails like "fail"; the others get one classification
 *   slow           sleeps 300 ms, then one classification (for overload tests)
 *   reject         open_stream() refuses with AVA_STATUS_INVALID_ARGUMENT (HTTP 400)
 *   wild           emits values the schema cannot carry as-is (boxes out of range, blank subtype)
 *   badutf8        emits invalid UTF-8 (0xFF, overlong, truncated) in every kind of string
 *   huge           emits a 100 MB text and returns the host's refusal as its own status
 *   hugeignored    emits a 100 MB text, ignores the host's refusal and returns OK
 *   frameinfo      two classifications: "frame <W>x<H>/<pixel format>" of the frame process() got and
 *                  "stream <W>x<H>/<pixel format>" of what open_stream's info said
 *   lastpixel      one classification "pixel <b0>,<b1>,..." of the bytes of the frame's bottom-right pixel
 *                  (through its stride: the channel order and the row layout the plugin was handed)
 * Built with PROBE_INPUT_FORMATS / PROBE_INPUT_MIN_WIDTH / PROBE_INPUT_MIN_HEIGHT / PROBE_INPUT_FLAGS, it
 * declares that input (ABI 1.2).
 */
#define _POSIX_C_SOURCE 199309L
#include <ava_plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum { MODE_ALL, MODE_EMPTY, MODE_FAIL, MODE_SLOW, MODE_WILD, MODE_BADUTF8, MODE_HUGE, MODE_HUGEIGNORED, MODE_THIRD_FAILS, MODE_FRAMEINFO, MODE_LASTPIXEL } probe_mode;

#define PROBE_HUGE_BYTES (100u * 1024u * 1024u)

typedef struct probe_session {
    probe_mode mode;
    unsigned long frames;
    char stream[64]; /* what open_stream's info said, for mode frameinfo */
} probe_session;

static int has_mode(const char* json, const char* mode)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"mode\":\"%s\"", mode);
    return json != NULL && strstr(json, needle) != NULL;
}

static ava_status probe_create(const char* config_json, void** instance, ava_error* error)
{
    (void)config_json;
    (void)error;
    *instance = malloc(1); /* no state; any non-null handle will do */
    return *instance != NULL ? AVA_STATUS_OK : AVA_STATUS_OUT_OF_MEMORY;
}

static void probe_destroy(void* instance) { free(instance); }

static ava_status probe_open(void* instance, const ava_stream_info* info, void** session, ava_error* error)
{
    probe_session* s;
    (void)instance;
    if (has_mode(info->parameters_json, "reject")) {
        snprintf(error->message, sizeof error->message, "probe: mode 'reject' refuses every stream");
        return AVA_STATUS_INVALID_ARGUMENT;
    }
    s = (probe_session*)calloc(1, sizeof *s);
    if (s == NULL) {
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    s->mode = has_mode(info->parameters_json, "empty")  ? MODE_EMPTY
              : has_mode(info->parameters_json, "fail") ? MODE_FAIL
              : has_mode(info->parameters_json, "slow") ? MODE_SLOW
              : has_mode(info->parameters_json, "wild") ? MODE_WILD
              : has_mode(info->parameters_json, "badutf8") ? MODE_BADUTF8
              : has_mode(info->parameters_json, "huge") ? MODE_HUGE
              : has_mode(info->parameters_json, "hugeignored") ? MODE_HUGEIGNORED
              : has_mode(info->parameters_json, "everythirdfails") ? MODE_THIRD_FAILS
              : has_mode(info->parameters_json, "frameinfo") ? MODE_FRAMEINFO
              : has_mode(info->parameters_json, "lastpixel") ? MODE_LASTPIXEL
                                                        : MODE_ALL;
    snprintf(s->stream, sizeof s->stream, "stream %ux%u/%d", info->width, info->height, (int)info->pixel_format);
    *session = s;
    return AVA_STATUS_OK;
}

static void probe_close(void* session) { free(session); }

static ava_status probe_process(void* session, const ava_frame* frame, const ava_result_sink* sink, ava_error* error)
{
    probe_session* s = (probe_session*)session;
    char size[32];
    ava_inference_meta meta;
    ava_box box = {0.25f, 0.25f, 0.5f, 0.5f};
    ava_key_value props[2] = {{"frames", "1"}, {"source", "probe"}};
    ava_attribute attributes[1] = {{"colour", "grey", 0.5f}};
    const char* related[1] = {"cls-1"};

    s->frames++;
    memset(&meta, 0, sizeof meta);
    meta.struct_size = sizeof meta;
    snprintf(size, sizeof size, "%ux%u", frame->width, frame->height);
    switch (s->mode) {
    case MODE_EMPTY:
        return AVA_STATUS_OK;
    case MODE_FRAMEINFO: {
        char got[64];
        snprintf(got, sizeof got, "frame %s/%d", size, (int)frame->pixel_format);
        if (sink->classification(sink->context, NULL, got, 1.0f) != AVA_STATUS_OK) return AVA_STATUS_INTERNAL;
        return sink->classification(sink->context, NULL, s->stream, 1.0f);
    }
    case MODE_LASTPIXEL: {
        const unsigned channels = frame->pixel_format == AVA_PIXEL_FORMAT_GRAY8                                   ? 1u
                                  : frame->pixel_format == AVA_PIXEL_FORMAT_BGRA32 ||
                                            frame->pixel_format == AVA_PIXEL_FORMAT_RGBA32 ? 4u
                                                                                           : 3u;
        const uint8_t* last = frame->data + (size_t)(frame->height - 1) * frame->stride_bytes +
                              (size_t)(frame->width - 1) * channels;
        char got[64];
        int at = snprintf(got, sizeof got, "pixel %u", last[0]);
        unsigned c;
        for (c = 1; c < channels; ++c) {
            at += snprintf(got + at, sizeof got - (size_t)at, ",%u", last[c]);
        }
        return sink->classification(sink->context, NULL, got, 1.0f);
    }
    case MODE_FAIL:
        snprintf(error->message, sizeof error->message, "probe: failure requested (mode 'fail')");
        return AVA_STATUS_INTERNAL;
    case MODE_THIRD_FAILS:
        if (s->frames % 3 == 0) {
            snprintf(error->message, sizeof error->message, "probe: failure requested (mode 'everythirdfails')");
            return AVA_STATUS_INTERNAL;
        }
        return sink->classification(sink->context, NULL, size, 1.0f);
    case MODE_SLOW: {
        struct timespec pause = {0, 300 * 1000 * 1000};
        nanosleep(&pause, NULL);
        return sink->classification(sink->context, NULL, size, 1.0f);
    }
    case MODE_WILD: {
        ava_box outside = {-0.5f, 0.9f, 2.0f, 0.5f};
        ava_inference_meta blank = meta;
        blank.subtype = "   ";
        sink->motion(sink->context, NULL, outside);                   /* clamped into the frame */
        return sink->classification(sink->context, &blank, "x", 2.0f) == AVA_STATUS_INVALID_ARGUMENT
                   ? AVA_STATUS_OK
                   : AVA_STATUS_INTERNAL; /* the host must refuse a blank subtype */
    }
    case MODE_BADUTF8: {
        static const char* bad = "bad\xFF\xC0\xAF\xE2\x82";
        ava_key_value bad_props[1];
        bad_props[0].key = bad;
        bad_props[0].value = bad;
        meta.subtype = bad;
        meta.inference_id = bad;
        meta.extensions = bad_props;
        meta.extension_count = 1;
        if (sink->classification(sink->context, &meta, bad, 0.5f) != AVA_STATUS_OK) return AVA_STATUS_INTERNAL;
        if (sink->entity(sink->context, NULL, bad, 0.5f, box, bad) != AVA_STATUS_OK) return AVA_STATUS_INTERNAL;
        if (sink->event(sink->context, NULL, bad, bad_props, 1) != AVA_STATUS_OK) return AVA_STATUS_INTERNAL;
        return sink->text(sink->context, NULL, bad, bad, 1, 2) == AVA_STATUS_OK ? AVA_STATUS_OK : AVA_STATUS_INTERNAL;
    }
    case MODE_HUGE:
    case MODE_HUGEIGNORED: {
        ava_status status;
        char* text = (char*)malloc(PROBE_HUGE_BYTES + 1);
        if (text == NULL) {
            return AVA_STATUS_OUT_OF_MEMORY;
        }
        memset(text, 'a', PROBE_HUGE_BYTES);
        text[PROBE_HUGE_BYTES] = '\0';
        sink->classification(sink->context, NULL, "before", 1.0f);
        status = sink->text(sink->context, NULL, text, NULL, 0, 0);
        free(text);
        return s->mode == MODE_HUGE ? status : AVA_STATUS_OK;
    }
    case MODE_ALL:
        break;
    }
    meta.subtype = "frameSize";
    meta.inference_id = "cls-1";
    meta.attributes = attributes;
    meta.attribute_count = 1;
    if (sink->classification(sink->context, &meta, size, 1.0f) != AVA_STATUS_OK) return AVA_STATUS_INTERNAL;
    memset(&meta, 0, sizeof meta);
    meta.struct_size = sizeof meta;
    meta.related_inferences = related;
    meta.related_count = 1;
    meta.extensions = props;
    meta.extension_count = 2;
    if (sink->entity(sink->context, &meta, "probe", 0.75f, box, "entity-7") != AVA_STATUS_OK) return AVA_STATUS_INTERNAL;
    if (sink->motion(sink->context, NULL, box) != AVA_STATUS_OK) return AVA_STATUS_INTERNAL;
    if (sink->event(sink->context, NULL, "probed", props, 2) != AVA_STATUS_OK) return AVA_STATUS_INTERNAL;
    if (sink->text(sink->context, NULL, "hello", "en", 10, 20) != AVA_STATUS_OK) return AVA_STATUS_INTERNAL;
    if (sink->other(sink->context, NULL, "text/plain", "raw", 3) != AVA_STATUS_OK) return AVA_STATUS_INTERNAL;
    return AVA_STATUS_OK;
}

static const ava_plugin_descriptor probe_descriptor = {
    AVA_PLUGIN_ABI_MAJOR, AVA_PLUGIN_ABI_MINOR, sizeof(ava_plugin_descriptor),
    PROBE_NAME, PROBE_VERSION, "Test analyzer in plain C: every inference kind and failure path",
    AVA_CONCURRENCY_PER_SESSION,
    probe_create, probe_destroy, probe_open, probe_close, probe_process,
#if AVA_PLUGIN_ABI_MINOR >= 1 /* built against tests/plugins/abi-1.0 too, as a real 1.0 plugin */
    NULL, NULL, NULL,
#endif
#if AVA_PLUGIN_ABI_MINOR >= 2
#ifndef PROBE_INPUT_FORMATS
#define PROBE_INPUT_FORMATS 0
#define PROBE_INPUT_MIN_WIDTH 0
#define PROBE_INPUT_MIN_HEIGHT 0
#endif
#ifndef PROBE_INPUT_FLAGS
#define PROBE_INPUT_FLAGS 0
#endif
    PROBE_INPUT_FORMATS, PROBE_INPUT_MIN_WIDTH, PROBE_INPUT_MIN_HEIGHT, PROBE_INPUT_FLAGS
#endif
};

#ifndef PROBE_ABI_MAJOR_OVERRIDE
AVA_PLUGIN_DEFINE_ENTRY(&probe_descriptor)
#else
/* Pretends to be built for another ABI major: the host must refuse it. */
static ava_plugin_descriptor foreign_descriptor;
AVA_PLUGIN_EXPORT const ava_plugin_descriptor* ava_plugin_entry(void)
{
    foreign_descriptor = probe_descriptor;
    foreign_descriptor.abi_major = PROBE_ABI_MAJOR_OVERRIDE;
    return &foreign_descriptor;
}
#endif
