/* A test analyzer for ava-plugin-check: built once well-behaved ("checked_ok") and once per defect the
 * checker must catch, chosen by one definition: BROKEN_BOX (a box past the frame's right edge),
 * BROKEN_STATUS (process() returns 42), BROKEN_UTF8 (a classification that is not UTF-8), BROKEN_EXPORT (a
 * second exported function), BROKEN_LATE_SINK (emits through the previous frame's sink, kept past its call),
 * BROKEN_LEAK (64 KiB lost per frame) or BROKEN_STATEFUL (declares full concurrency, yet each answer counts
 * the session's frames, so concurrent callers on one session get different answers). */
#include <ava_plugin.h>

#include <stdio.h>
#include <stdlib.h>

typedef struct session {
    unsigned frames;
    int has_previous;
    ava_result_sink previous; /* BROKEN_LATE_SINK: a copy of the last call's sink, which it must not keep */
} session;

static int instance_token;

static ava_status create(const char* config, void** instance, ava_error* error)
{
    (void)config;
    (void)error;
    *instance = &instance_token;
    return AVA_STATUS_OK;
}

static void destroy(void* instance) { (void)instance; }

static ava_status open_stream(void* instance, const ava_stream_info* info, void** out, ava_error* error)
{
    (void)instance;
    (void)info;
    (void)error;
    *out = calloc(1, sizeof(session));
    return *out != NULL ? AVA_STATUS_OK : AVA_STATUS_OUT_OF_MEMORY;
}

static void close_stream(void* s) { free(s); }

static ava_status process(void* opaque, const ava_frame* frame, const ava_result_sink* sink, ava_error* error)
{
    session* self = (session*)opaque;
    ava_box box = {0.25f, 0.25f, 0.5f, 0.5f};
    const char* value = "checked";
    (void)frame;
    (void)error;
#ifdef BROKEN_BOX
    box.l = 0.75f; /* 0.75 + 0.5 > 1 */
#endif
#ifdef BROKEN_LEAK
    if (malloc(64 * 1024) == NULL) {
        return AVA_STATUS_OUT_OF_MEMORY;
    }
#endif
#ifdef BROKEN_STATEFUL
    char count[16];
    snprintf(count, sizeof count, "%u", self->frames++); /* unsynchronised on purpose: FULL is a lie here */
    value = count;
#endif
#ifdef BROKEN_UTF8
    value = "caf\xc3"; /* a truncated two-byte sequence */
#endif
#ifdef BROKEN_LATE_SINK
    if (self->has_previous) {
        self->previous.classification(self->previous.context, NULL, "late", 1.0f);
    }
    self->previous = *sink;
    self->has_previous = 1;
#else
    (void)self;
#endif
    if (sink->classification(sink->context, NULL, value, 0.5f) != AVA_STATUS_OK ||
        sink->entity(sink->context, NULL, "thing", 0.9f, box, NULL) != AVA_STATUS_OK) {
        return AVA_STATUS_INTERNAL;
    }
#ifdef BROKEN_STATUS
    return (ava_status)42;
#else
    return AVA_STATUS_OK;
#endif
}

#ifdef BROKEN_EXPORT
AVA_PLUGIN_EXPORT int broken_helper(void) { return 1; }
#endif

static const ava_plugin_descriptor descriptor = {
    AVA_PLUGIN_ABI_MAJOR, AVA_PLUGIN_ABI_MINOR, sizeof(ava_plugin_descriptor), PLUGIN_NAME, "1.0.0",
    "ava-plugin-check test analyzer",
#ifdef BROKEN_STATEFUL
    AVA_CONCURRENCY_FULL,
#else
    AVA_CONCURRENCY_PER_SESSION,
#endif
    create, destroy, open_stream, close_stream, process, NULL, NULL, NULL, 0, 0, 0, 0};

AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
