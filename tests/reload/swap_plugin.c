/* swap — a test analyzer built in several versions from this one file, to swap under a running host.
 * Its one classification says which version answered and how it was configured:
 *   "<SWAP_ANSWER>[/<tag>][+<suffix>]"   tag: stream parameter "tag"; suffix: instance configuration "suffix"
 * Stream parameter "delay_ms" makes process() take that long (an open stream to drain). Instance
 * configuration {"fail":true} makes create() fail. Broken builds, each refused by the host:
 *   SWAP_ABI_MAJOR=n       claims another ABI major
 *   SWAP_UNDEFINED_SYMBOL  needs a symbol nobody defines (dlopen fails)
 *   SWAP_CREATE_FAILS      create() always fails
 */
#define _POSIX_C_SOURCE 199309L
#include <ava_plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef SWAP_ANSWER
#define SWAP_ANSWER "v1"
#endif
#ifndef SWAP_VERSION
#define SWAP_VERSION "1.0.0"
#endif

typedef struct swap_instance {
    char suffix[64];
} swap_instance;

typedef struct swap_session {
    const swap_instance* instance;
    char tag[64];
    long delay_ms;
} swap_session;

/* Copies the string value of "key" from compact JSON (what the host hands over) into out. */
static void string_value(const char* json, const char* key, char* out, size_t size)
{
    char needle[80];
    const char* start;
    size_t length = 0;
    out[0] = '\0';
    snprintf(needle, sizeof needle, "\"%s\":\"", key);
    start = json != NULL ? strstr(json, needle) : NULL;
    if (start == NULL) {
        return;
    }
    start += strlen(needle);
    while (start[length] != '\0' && start[length] != '"' && length + 1 < size) {
        length++;
    }
    memcpy(out, start, length);
    out[length] = '\0';
}

#ifdef SWAP_UNDEFINED_SYMBOL
extern void ava_swap_missing_function(void);
#endif

static ava_status swap_create(const char* config_json, void** instance, ava_error* error)
{
#ifdef SWAP_UNDEFINED_SYMBOL
    ava_swap_missing_function();
#endif
#ifdef SWAP_CREATE_FAILS
    (void)config_json;
    (void)instance;
    snprintf(error->message, sizeof error->message, "swap: this build always fails to create");
    return AVA_STATUS_INTERNAL;
#else
    swap_instance* self;
    if (strstr(config_json, "\"fail\":true") != NULL) {
        snprintf(error->message, sizeof error->message, "swap: the configuration asks create() to fail");
        return AVA_STATUS_INVALID_ARGUMENT;
    }
    self = (swap_instance*)calloc(1, sizeof *self);
    if (self == NULL) {
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    string_value(config_json, "suffix", self->suffix, sizeof self->suffix);
    *instance = self;
    (void)error;
    return AVA_STATUS_OK;
#endif
}

static void swap_destroy(void* instance) { free(instance); }

static ava_status swap_open(void* instance, const ava_stream_info* info, void** session, ava_error* error)
{
    swap_session* s = (swap_session*)calloc(1, sizeof *s);
    const char* delay;
    (void)error;
    if (s == NULL) {
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    s->instance = (const swap_instance*)instance;
    string_value(info->parameters_json, "tag", s->tag, sizeof s->tag);
    delay = strstr(info->parameters_json, "\"delay_ms\":");
    s->delay_ms = delay != NULL ? strtol(delay + strlen("\"delay_ms\":"), NULL, 10) : 0;
    *session = s;
    return AVA_STATUS_OK;
}

static void swap_close(void* session) { free(session); }

static ava_status swap_process(void* session, const ava_frame* frame, const ava_result_sink* sink, ava_error* error)
{
    const swap_session* s = (const swap_session*)session;
    char value[200];
    (void)frame;
    (void)error;
    if (s->delay_ms > 0) {
        struct timespec pause;
        pause.tv_sec = s->delay_ms / 1000;
        pause.tv_nsec = (s->delay_ms % 1000) * 1000000L;
        nanosleep(&pause, NULL);
    }
    snprintf(value, sizeof value, "%s%s%s%s%s", SWAP_ANSWER, s->tag[0] != '\0' ? "/" : "", s->tag,
             s->instance->suffix[0] != '\0' ? "+" : "", s->instance->suffix);
    return sink->classification(sink->context, NULL, value, 1.0f);
}

#ifndef SWAP_ABI_MAJOR
#define SWAP_ABI_MAJOR AVA_PLUGIN_ABI_MAJOR
#endif

static const ava_plugin_descriptor swap_descriptor = {
    SWAP_ABI_MAJOR, AVA_PLUGIN_ABI_MINOR, sizeof(ava_plugin_descriptor),
    "swap", SWAP_VERSION, "Test analyzer for hot reload: says which version answered",
    AVA_CONCURRENCY_FULL,
    swap_create, swap_destroy, swap_open, swap_close, swap_process, NULL, NULL, NULL, 0, 0, 0, 0};

AVA_PLUGIN_DEFINE_ENTRY(&swap_descriptor)
