/* fault: an analyzer that misbehaves on request, to prove the host contains it (docs/isolation.md).
 * Stream parameter "fault" picks what process() does:
 *   segv      writes through a null pointer          abort     calls abort()
 *   late      emits from a thread of its own after process() returned
 *   hang      never returns                           leak      keeps 10 MB more (written) every frame
 *   status    returns a status the ABI does not have  (none)    answers "ok"
 * "hang_open" makes open_stream() never return. Built three ways: FAULT_ENTRY_CRASH crashes in the entry
 * point itself, FAULT_CREATE_HANG never returns from create(). */
#define _POSIX_C_SOURCE 200809L
#include <ava_plugin.h>

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef enum { FAULT_NONE, FAULT_SEGV, FAULT_ABORT, FAULT_LATE, FAULT_HANG, FAULT_LEAK, FAULT_STATUS } fault_kind;

static int wants(const char* json, const char* fault)
{
    char needle[64];
    strcpy(needle, "\"fault\":\"");
    strcat(needle, fault);
    strcat(needle, "\"");
    return json != NULL && strstr(json, needle) != NULL;
}

static void hang(void)
{
    for (;;) {
        pause();
    }
}

static ava_status fault_create(const char* config_json, void** instance, ava_error* error)
{
    (void)config_json;
    (void)error;
#ifdef FAULT_CREATE_HANG
    hang();
#endif
    *instance = malloc(1);
    return *instance != NULL ? AVA_STATUS_OK : AVA_STATUS_OUT_OF_MEMORY;
}

static void fault_destroy(void* instance) { free(instance); }

static ava_status fault_open(void* instance, const ava_stream_info* info, void** session, ava_error* error)
{
    fault_kind* kind = malloc(sizeof *kind);
    (void)instance;
    (void)error;
    if (kind == NULL) {
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    if (wants(info->parameters_json, "hang_open")) {
        hang();
    }
    *kind = wants(info->parameters_json, "segv")     ? FAULT_SEGV
            : wants(info->parameters_json, "abort")  ? FAULT_ABORT
            : wants(info->parameters_json, "late")   ? FAULT_LATE
            : wants(info->parameters_json, "hang")   ? FAULT_HANG
            : wants(info->parameters_json, "leak")   ? FAULT_LEAK
            : wants(info->parameters_json, "status") ? FAULT_STATUS
                                                     : FAULT_NONE;
    *session = kind;
    return AVA_STATUS_OK;
}

static void fault_close(void* session) { free(session); }

static void* emit_late(void* sink_pointer)
{
    const ava_result_sink* sink = sink_pointer;
    struct timespec pause_for = {0, 50 * 1000 * 1000};
    nanosleep(&pause_for, NULL);
    sink->classification(sink->context, NULL, "late", 1.0f);
    return NULL;
}

static ava_status fault_process(void* session, const ava_frame* frame, const ava_result_sink* sink, ava_error* error)
{
    (void)frame;
    (void)error;
    switch (*(fault_kind*)session) {
    case FAULT_SEGV: {
        /* An unmapped page, not NULL: a real invalid access that UBSan's null check leaves to the CPU. */
        volatile int* nowhere = (volatile int*)(uintptr_t)4096;
        *nowhere = 1;
        break;
    }
    case FAULT_ABORT:
        abort();
    case FAULT_LATE: {
        /* The sink and its context belong to this call; using them later is the bug being contained. */
        static ava_result_sink kept;
        pthread_t thread;
        kept = *sink;
        if (pthread_create(&thread, NULL, emit_late, &kept) == 0) {
            pthread_detach(thread);
        }
        break;
    }
    case FAULT_HANG:
        hang();
        break;
    case FAULT_LEAK: {
        /* Like most leaking code, it does not check: once the memory limit is reached, it crashes. */
        volatile char* block = malloc(10u << 20);
        size_t at;
        for (at = 0; at < (10u << 20); at += 4096) {
            block[at] = 1; /* volatile: really touched, so really resident */
        }
        break;
    }
    case FAULT_STATUS:
        return (ava_status)77;
    case FAULT_NONE:
        break;
    }
    return sink->classification(sink->context, NULL, "ok", 1.0f);
}

static const ava_plugin_descriptor descriptor = {
    AVA_PLUGIN_ABI_MAJOR, AVA_PLUGIN_ABI_MINOR, sizeof(ava_plugin_descriptor), FAULT_NAME, "1.0.0",
    "misbehaves on request (tests)", AVA_CONCURRENCY_PER_SESSION, fault_create, fault_destroy, fault_open,
    fault_close, fault_process, NULL, NULL, NULL, 0, 0, 0, 0};

AVA_PLUGIN_EXPORT const ava_plugin_descriptor* ava_plugin_entry(void)
{
#ifdef FAULT_ENTRY_CRASH
    raise(SIGSEGV);
#endif
    return &descriptor;
}
