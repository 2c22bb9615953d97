/*
 * ava_plugin.h — the analyzer plugin C ABI of ava-extension-host.
 *
 * A plugin is a shared library that exports ONE symbol, AVA_PLUGIN_ENTRY_NAME, returning a pointer to a
 * static ava_plugin_descriptor. This header is self-contained (C99 / C++, no other file of ours needed).
 *
 * Versioning
 *   - abi_major changes break the ABI: the host refuses a plugin whose abi_major differs from its own.
 *   - abi_minor changes only APPEND fields to the end of structs. Every struct that crosses the boundary
 *     starts with (or carries) struct_size, so each side reads only the fields the other one knows about.
 *     A plugin built against an older minor keeps loading on a newer host; a plugin built against a newer
 *     minor loads on an older host too (same major), which then ignores the fields it does not know: a
 *     plugin reads an appended field of a host struct only when AVA_HAS_FIELD says it is there.
 *   - ABI 1.1 appended: the descriptor's configuration_schema, parameters_schema and
 *     create_with_parameters; ava_stream_info's parameters (the typed getters, ava_parameters).
 *   - ABI 1.2 appended: the descriptor's input_* fields (the frame size and pixel formats the analyzer
 *     needs, so the host decodes no more than that).
 *
 * Memory
 *   Neither side frees the other's memory. Strings and arrays passed in either direction are only valid for
 *   the duration of the call; the host copies every result it receives through ava_result_sink.
 *   Plugins must not let C++ exceptions escape any function of this ABI.
 *
 * Lifecycle
 *   create(config) -> instance         one per route (analyzer + configuration), may live long
 *                                      (create_with_parameters instead, when declared: ABI 1.1)
 *   open_stream(instance, info) -> session   one per live pipeline stream (gRPC) or per HTTP request
 *   process(session, frame, sink)      once per frame, results via sink (one call per inference)
 *   close_stream(session); destroy(instance)
 */
#ifndef AVA_PLUGIN_H
#define AVA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AVA_PLUGIN_ABI_MAJOR 1
#define AVA_PLUGIN_ABI_MINOR 2

/* The one symbol the host looks up. */
#define AVA_PLUGIN_ENTRY_NAME "ava_plugin_entry"

#if defined(_WIN32)
#define AVA_PLUGIN_EXPORT __declspec(dllexport)
#else
#define AVA_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

typedef enum ava_status {
    AVA_STATUS_OK = 0,
    AVA_STATUS_INVALID_ARGUMENT = 1, /* bad configuration, bad parameter, frame the analyzer cannot take */
    AVA_STATUS_UNSUPPORTED = 2,      /* valid request this analyzer does not support (e.g. pixel format) */
    AVA_STATUS_INTERNAL = 3,         /* the analyzer failed */
    AVA_STATUS_OUT_OF_MEMORY = 4
} ava_status;

/* Error details filled by the plugin (snprintf into message); the host logs and returns the message. */
#define AVA_ERROR_MESSAGE_SIZE 512
typedef struct ava_error {
    char message[AVA_ERROR_MESSAGE_SIZE];
} ava_error;

/* Pixel formats a frame is delivered in. Packed, 8 bits per channel; byte order as named. */
typedef enum ava_pixel_format {
    AVA_PIXEL_FORMAT_UNKNOWN = 0,
    AVA_PIXEL_FORMAT_GRAY8 = 1,
    AVA_PIXEL_FORMAT_BGR24 = 2, /* what the host decodes JPEG/PNG/BMP to */
    AVA_PIXEL_FORMAT_RGB24 = 3,
    AVA_PIXEL_FORMAT_BGRA32 = 4,
    AVA_PIXEL_FORMAT_RGBA32 = 5
} ava_pixel_format;

/* ABI 1.2: a set of pixel formats, for ava_plugin_descriptor.input_pixel_formats. */
#define AVA_PIXEL_FORMAT_BIT(format) (1u << (unsigned)(format))

/* ABI 1.2: ava_plugin_descriptor.input_flags. */
#define AVA_INPUT_EXACT_SIZE 1u /* deliver exactly input_min_width x input_min_height (aspect not kept) */

/* How the host may call process(): the host enforces what the plugin declares. */
typedef enum ava_concurrency {
    AVA_CONCURRENCY_SERIAL = 0,      /* one call at a time per instance: open_stream, process, close_stream */
    AVA_CONCURRENCY_PER_SESSION = 1, /* sessions run in parallel; one call at a time per session */
    AVA_CONCURRENCY_FULL = 2         /* process may run concurrently, even on one session */
} ava_concurrency;

/* Whether a struct received from the other side has `field`: its struct_size covers it. E.g.
 * AVA_HAS_FIELD(info, ava_stream_info, parameters) before reading info->parameters (a 1.0 host has none). */
#define AVA_HAS_FIELD(pointer, type, field) \
    ((pointer)->struct_size >= offsetof(type, field) + sizeof(((const type*)0)->field))

/* ABI 1.1. Typed getters over the parameters, so a C plugin parses no JSON. The host has checked the
 * configuration against configuration_schema and the stream's parameters against parameters_schema, where
 * declared; still handle every status (an undeclared schema checks nothing, and a schema "integer" above
 * INT64_MAX reads as WRONG_TYPE through get_integer). Stream parameters are layered over the instance configuration: a name the stream
 * sets wins over the configuration's. The object and every string it returns are valid only during the call
 * that received it (create_with_parameters, open_stream): copy what you keep. */
typedef enum ava_parameter_status {
    AVA_PARAMETER_OK = 0,
    AVA_PARAMETER_NOT_FOUND = 1,        /* neither the stream nor the configuration sets it: use your default */
    AVA_PARAMETER_WRONG_TYPE = 2,       /* set, but not of the type asked for (*value is left unchanged) */
    AVA_PARAMETER_INVALID_ARGUMENT = 3  /* a NULL argument */
} ava_parameter_status;

typedef struct ava_parameters ava_parameters;
struct ava_parameters {
    uint32_t struct_size;
    const void* context; /* the host's */
    /* Any JSON number. */
    ava_parameter_status (*get_number)(const ava_parameters* parameters, const char* name, double* value);
    /* A JSON number without fraction or exponent that fits int64_t (12, not 12.5 or 1e3). */
    ava_parameter_status (*get_integer)(const ava_parameters* parameters, const char* name, int64_t* value);
    /* true (1) or false (0). */
    ava_parameter_status (*get_bool)(const ava_parameters* parameters, const char* name, int* value);
    /* A JSON string: *value is NUL-terminated, *size its length in bytes (it may hold a NUL, JSON "\u0000").
     * size may be NULL. */
    ava_parameter_status (*get_string)(const ava_parameters* parameters, const char* name, const char** value,
                                       size_t* size);
};

typedef struct ava_frame {
    uint32_t struct_size;    /* sizeof(ava_frame) as the host knows it */
    const uint8_t* data;     /* first byte of the top row; read-only; valid only during process() */
    uint32_t width;
    uint32_t height;
    uint32_t stride_bytes;   /* bytes from one row to the next (>= width * bytes per pixel) */
    ava_pixel_format pixel_format;
    uint64_t timestamp;      /* media timestamp, in the stream's timescale (0 for HTTP) */
} ava_frame;

typedef struct ava_stream_info {
    uint32_t struct_size;
    const char* pipeline_name;   /* live pipeline (graph_instance_name) or "" */
    const char* node_name;       /* extension node name or "" */
    const char* route;           /* the route that selected this analyzer (URL path or extension configuration) */
    uint32_t width;              /* expected frame size, 0 when it may vary (HTTP) */
    uint32_t height;
    ava_pixel_format pixel_format; /* expected pixel format, UNKNOWN when it may vary */
    uint32_t timescale;          /* timestamp units per second, 0 when unknown */
    const char* parameters_json; /* JSON object of per-stream parameters, never NULL ("{}" when none) */
    /* ABI 1.1: the same parameters layered over the instance configuration, through typed getters. Set by a
     * 1.1 host for a plugin whose descriptor has the 1.1 fields (its struct_size covers
     * create_with_parameters), NULL otherwise; check AVA_HAS_FIELD(info, ava_stream_info, parameters) first
     * (a 1.0 host) and then for NULL. */
    const ava_parameters* parameters;
} ava_stream_info;

typedef struct ava_box {
    float l, t, w, h; /* normalised to the frame, 0..1 */
} ava_box;

typedef struct ava_key_value {
    const char* key;
    const char* value;
} ava_key_value;

typedef struct ava_attribute {
    const char* name;
    const char* value;
    float confidence; /* < 0 means "no confidence" */
} ava_attribute;

/* What every inference may carry besides its value. Pass NULL for none. */
typedef struct ava_inference_meta {
    uint32_t struct_size;
    const char* subtype;      /* NULL or non-blank */
    const char* inference_id; /* NULL or an id other inferences can reference */
    const char* const* related_inferences;
    uint32_t related_count;
    const ava_key_value* extensions;
    uint32_t extension_count;
    const ava_attribute* attributes; /* classification and entity only */
    uint32_t attribute_count;
} ava_inference_meta;

/* Host-provided callbacks, one call per inference. Give classifications and entities a meaningful
 * confidence in 0..1 (1.0 where the analyzer is certain by construction): pipeline clients in the field
 * read it unconditionally. A confidence < 0 on a classification or entity tag is sent as 1.0 (the analyzer
 * asserts the tag); on an attribute it means "no confidence" and none is sent. */
typedef struct ava_result_sink {
    uint32_t struct_size;
    void* context;
    ava_status (*classification)(void* context, const ava_inference_meta* meta, const char* value,
                                 float confidence);
    ava_status (*entity)(void* context, const ava_inference_meta* meta, const char* tag, float confidence,
                         ava_box box, const char* id /* NULL for none */);
    ava_status (*motion)(void* context, const ava_inference_meta* meta, ava_box box);
    ava_status (*event)(void* context, const ava_inference_meta* meta, const char* name,
                        const ava_key_value* properties, uint32_t property_count);
    ava_status (*text)(void* context, const ava_inference_meta* meta, const char* value,
                       const char* language /* NULL for none */, uint64_t start_timestamp,
                       uint64_t end_timestamp);
    ava_status (*other)(void* context, const ava_inference_meta* meta, const char* content_type,
                        const void* content, size_t content_size);
} ava_result_sink;

typedef struct ava_plugin_descriptor {
    uint32_t abi_major;   /* AVA_PLUGIN_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;   /* AVA_PLUGIN_ABI_MINOR the plugin was built with */
    uint32_t struct_size; /* sizeof(ava_plugin_descriptor) the plugin was built with */
    const char* name;        /* analyzer name, [a-z0-9_-]+, also its default HTTP path "/<name>" */
    const char* version;     /* plugin version, free form (e.g. "1.2.0") */
    const char* description; /* one line */
    ava_concurrency concurrency;

    /* config_json: JSON object (never NULL, "{}" when none). */
    ava_status (*create)(const char* config_json, void** instance, ava_error* error);
    void (*destroy)(void* instance);
    ava_status (*open_stream)(void* instance, const ava_stream_info* info, void** session, ava_error* error);
    void (*close_stream)(void* session);
    ava_status (*process)(void* session, const ava_frame* frame, const ava_result_sink* sink, ava_error* error);

    /* ABI 1.1 — optional (NULL: not declared); a 1.0 host ignores them.
     * JSON Schema (draft-04, as a JSON text) of create()'s configuration object and of open_stream()'s
     * parameters object. The host checks every configuration and every stream's parameters against them
     * before calling the plugin (a failure never reaches it: HTTP 400 / gRPC INVALID_ARGUMENT, or the
     * configuration is refused), shows them in GET /analyzers, and refuses a plugin whose schema is not a
     * valid schema of an object (at most 64 KiB; no "$ref", "pattern", "patternProperties" or "uniqueItems": true anywhere in it). */
    const char* configuration_schema;
    const char* parameters_schema;
    /* Called instead of create() by a 1.1 host when not NULL: the same configuration, also through typed
     * getters. create() stays required (a 1.0 host calls it). */
    ava_status (*create_with_parameters)(const char* config_json, const ava_parameters* config, void** instance,
                                         ava_error* error);

    /* ABI 1.2 — optional (all 0: not declared, every frame arrives as sent or decoded at full size).
     * The input the analyzer needs, so the host decodes and converts no more than that, once per frame:
     *   input_pixel_formats  AVA_PIXEL_FORMAT_BIT()s of the formats process() takes (0: any). A frame in
     *                        another format is converted to the first taken of BGR24, GRAY8, RGB24, BGRA32,
     *                        RGBA32; a JPEG/PNG/BMP is decoded straight to GRAY8 when GRAY8 is taken and BGR24
     *                        is not (no colour conversion at all).
     *   input_min_width/height  the smallest frame the analyzer still works well on (0: full size). The
     *                        host may shrink a frame by 2, 4 or 8 while both sides stay at least this large
     *                        (JPEG: decoded at that scale by libjpeg's DCT scaling, much cheaper than a full
     *                        decode); a smaller frame arrives as sent, never enlarged.
     *   input_flags          AVA_INPUT_EXACT_SIZE: deliver exactly input_min_width x input_min_height (a
     *                        model's input size), resized without keeping the aspect ratio.
     * Boxes are normalised to the frame, so they mean the same at any delivered size. ava_stream_info's
     * width, height and pixel_format describe the frames as delivered. A 1.0/1.1 host ignores these and
     * sends frames as before: a plugin must still take any size and format it may be sent. */
    uint32_t input_pixel_formats;
    uint32_t input_min_width;
    uint32_t input_min_height;
    uint32_t input_flags;
} ava_plugin_descriptor;

typedef const ava_plugin_descriptor* (*ava_plugin_entry_fn)(void);

/* Declare the entry point in a plugin: AVA_PLUGIN_DEFINE_ENTRY(&my_descriptor), at file scope. In C++ it
 * declares itself extern "C" (a mangled entry would not be found), so it needs no extern "C" block. */
#ifdef __cplusplus
#define AVA_PLUGIN_EXTERN_C extern "C"
#else
#define AVA_PLUGIN_EXTERN_C
#endif
#define AVA_PLUGIN_DEFINE_ENTRY(descriptor_address)                                   \
    AVA_PLUGIN_EXTERN_C AVA_PLUGIN_EXPORT const ava_plugin_descriptor* ava_plugin_entry(void) \
    {                                                                                 \
        return (descriptor_address);                                                  \
    }

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AVA_PLUGIN_H */
