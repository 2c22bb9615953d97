/* null — the benchmark's analyzer: looks at nothing and reports nothing, so a run measures the host's
 * own cost (transport, routing, decode, plugin call, reply) and nothing else. Fully concurrent. */
#include <ava_plugin.h>

#include <stdlib.h>

static ava_status null_create(const char* config_json, void** instance, ava_error* error)
{
    (void)config_json;
    (void)error;
    *instance = malloc(1); /* no state; any non-null handle will do */
    return *instance != NULL ? AVA_STATUS_OK : AVA_STATUS_OUT_OF_MEMORY;
}

static void null_destroy(void* instance) { free(instance); }

static ava_status null_open(void* instance, const ava_stream_info* info, void** session, ava_error* error)
{
    (void)info;
    (void)error;
    *session = instance;
    return AVA_STATUS_OK;
}

static void null_close(void* session) { (void)session; }

static ava_status null_process(void* session, const ava_frame* frame, const ava_result_sink* sink, ava_error* error)
{
    (void)session;
    (void)frame;
    (void)sink;
    (void)error;
    return AVA_STATUS_OK;
}

static const ava_plugin_descriptor null_descriptor = {
    AVA_PLUGIN_ABI_MAJOR, AVA_PLUGIN_ABI_MINOR, sizeof(ava_plugin_descriptor),
    "null", "1.0.0", "Benchmark analyzer: reports nothing (measures the host alone)",
    AVA_CONCURRENCY_FULL,
    null_create, null_destroy, null_open, null_close, null_process, NULL, NULL, NULL, 0, 0, 0, 0};

AVA_PLUGIN_DEFINE_ENTRY(&null_descriptor)
