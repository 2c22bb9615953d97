/* null — the benchmark's analyzer: looks at nothing and reports nothing, so a run measures the host's
 * own cost (transport, routing, decode, plugin call, reply) and nothing else. Fully concurrent.
 *
 * Built again as "slow" (NULL_SLOW): one frame at a time per stream, each taking the stream parameter
 * "cost_ms" (integer, default 66: twice a 30-fps frame interval) of sleep, so a paced stream can overload
 * it by a known factor (bench/overload.py). It sleeps rather than spins: the host's behaviour under
 * overload is what is measured, not the machine's. */
#define _POSIX_C_SOURCE 199309L
#include <ava_plugin.h>

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static ava_status null_create(const char* config_json, void** instance, ava_error* error)
{
    (void)config_json;
    (void)error;
    *instance = malloc(1); /* no state; any non-null handle will do */
    return *instance != NULL ? AVA_STATUS_OK : AVA_STATUS_OUT_OF_MEMORY;
}

static void null_destroy(void* instance) { free(instance); }

#ifndef NULL_SLOW
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
#else
static ava_status null_open(void* instance, const ava_stream_info* info, void** session, ava_error* error)
{
    int64_t* cost_ms = (int64_t*)malloc(sizeof *cost_ms);
    (void)instance;
    (void)error;
    if (cost_ms == NULL) {
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    *cost_ms = 66;
    if (AVA_HAS_FIELD(info, ava_stream_info, parameters) && info->parameters != NULL) {
        info->parameters->get_integer(info->parameters, "cost_ms", cost_ms);
    }
    *session = cost_ms;
    return AVA_STATUS_OK;
}

static void null_close(void* session) { free(session); }

static ava_status null_process(void* session, const ava_frame* frame, const ava_result_sink* sink, ava_error* error)
{
    const int64_t cost_ms = *(const int64_t*)session;
    struct timespec pause;
    (void)frame;
    (void)error;
    pause.tv_sec = (time_t)(cost_ms / 1000);
    pause.tv_nsec = (long)(cost_ms % 1000) * 1000000L;
    nanosleep(&pause, NULL);
    /* One answer per analysed frame, so a client can tell analysed frames from skipped ones. */
    return sink->classification(sink->context, NULL, "analysed", 1.0f);
}

static const char* const slow_schema = "{\"type\":\"object\",\"additionalProperties\":false,"
                                       "\"properties\":{\"cost_ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":10000}}}";
#endif

static const ava_plugin_descriptor null_descriptor = {
    AVA_PLUGIN_ABI_MAJOR, AVA_PLUGIN_ABI_MINOR, sizeof(ava_plugin_descriptor),
#ifndef NULL_SLOW
    "null", "1.0.0", "Benchmark analyzer: reports nothing (measures the host alone)",
    AVA_CONCURRENCY_FULL,
    null_create, null_destroy, null_open, null_close, null_process, NULL, NULL, NULL, 0, 0, 0, 0};
#else
    "slow", "1.0.0", "Benchmark analyzer: sleeps cost_ms per frame, one frame at a time per stream",
    AVA_CONCURRENCY_PER_SESSION,
    null_create, null_destroy, null_open, null_close, null_process, slow_schema, slow_schema, NULL, 0, 0, 0, 0};
#endif

AVA_PLUGIN_DEFINE_ENTRY(&null_descriptor)
