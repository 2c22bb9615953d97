/* serial_probe — a C99 test analyzer declaring AVA_CONCURRENCY_SERIAL that checks the host keeps its promise:
 * open_stream, process and close_stream never run at the same time on one instance. Each call marks itself
 * active for a millisecond; a call that finds another active records an overlap. process() answers the
 * classification "serial", or "overlap" once any overlap was seen. */
#define _POSIX_C_SOURCE 199309L
#include <ava_plugin.h>

#include <stdlib.h>
#include <time.h>

typedef struct serial_instance {
    int active;  /* calls inside the plugin right now */
    int overlap; /* set once two calls were ever inside together */
} serial_instance;

typedef struct serial_session {
    serial_instance* instance;
} serial_session;

/* A call's body: long enough that an unserialised host overlaps two calls almost surely. */
static void occupy(serial_instance* in)
{
    const struct timespec one_ms = {0, 1000000L};
    if (__atomic_add_fetch(&in->active, 1, __ATOMIC_SEQ_CST) > 1) {
        __atomic_store_n(&in->overlap, 1, __ATOMIC_SEQ_CST);
    }
    nanosleep(&one_ms, NULL);
    __atomic_sub_fetch(&in->active, 1, __ATOMIC_SEQ_CST);
}

static ava_status serial_create(const char* config_json, void** instance, ava_error* error)
{
    (void)config_json;
    (void)error;
    *instance = calloc(1, sizeof(serial_instance));
    return *instance != NULL ? AVA_STATUS_OK : AVA_STATUS_OUT_OF_MEMORY;
}

static void serial_destroy(void* instance) { free(instance); }

static ava_status serial_open(void* instance, const ava_stream_info* info, void** session, ava_error* error)
{
    serial_session* s = (serial_session*)malloc(sizeof *s);
    (void)info;
    (void)error;
    if (s == NULL) {
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    s->instance = (serial_instance*)instance;
    occupy(s->instance);
    *session = s;
    return AVA_STATUS_OK;
}

static void serial_close(void* session)
{
    serial_session* s = (serial_session*)session;
    occupy(s->instance);
    free(s);
}

static ava_status serial_process(void* session, const ava_frame* frame, const ava_result_sink* sink, ava_error* error)
{
    serial_session* s = (serial_session*)session;
    (void)frame;
    (void)error;
    occupy(s->instance);
    return sink->classification(sink->context, NULL,
                                __atomic_load_n(&s->instance->overlap, __ATOMIC_SEQ_CST) ? "overlap" : "serial", 1.0f);
}

static const ava_plugin_descriptor serial_descriptor = {
    AVA_PLUGIN_ABI_MAJOR, AVA_PLUGIN_ABI_MINOR, sizeof(ava_plugin_descriptor),
    "serial_probe", "1.0.0", "Test analyzer in plain C: checks that SERIAL calls never overlap",
    AVA_CONCURRENCY_SERIAL,
    serial_create, serial_destroy, serial_open, serial_close, serial_process, NULL, NULL, NULL, 0, 0, 0, 0};

AVA_PLUGIN_DEFINE_ENTRY(&serial_descriptor)
