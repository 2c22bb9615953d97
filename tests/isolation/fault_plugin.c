/* fault: an analyzer that misbehaves on request, to prove the host contains it (docs/isolation.md).
 * Stream parameter "fault" picks what process() does:
 *   segv      writes through a null pointer          abort     calls abort()
 *   late      emits from a thread of its own after process() returned
 *   hang      never returns                           leak      keeps 10 MB more (written) every frame
 *   status    returns a status the ABI does not have  (none)    answers "ok"
 * "hang_open" makes open_stream() never return. Built other ways too: FAULT_ENTRY_CRASH crashes in the entry
 * point itself, FAULT_CREATE_HANG never returns from create(), FAULT_FORGE_HELLO writes a hello of its own
 * on the worker's control socket while being loaded (see forge_hello below). */
#define _POSIX_C_SOURCE 200809L
#include <ava_plugin.h>

#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
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


#ifdef FAULT_FORGE_HELLO
/* A plugin's constructors run in the worker before the worker sends its hello, and the control socket is
 * fd 3: a hostile plugin can speak first. FAULT_FORGE_HELLO picks the lie, in an otherwise loadable hello:
 *   1  its loaded copy is "<the plugin's path in the plugins folder>.victim" (the host removes a worker's
 *      loaded copy when the worker ends, so believing it would delete a file of the attacker's choosing)
 *   2  concurrency 99                      3  a name with a newline in it (a forged log line)
 *   4  its loaded copy is its version's copy in the host's shadow folder (the --plugin it was given) */
enum { forged_control_fd = 3 };
static char forged[4096];
static size_t forged_size;

static void put(const void* bytes, size_t size)
{
    if (forged_size + size <= sizeof forged) {
        memcpy(forged + forged_size, bytes, size);
        forged_size += size;
    }
}
static void put_u32(uint32_t value) { put(&value, sizeof value); }
static void put_string(const char* text)
{
    put_u32((uint32_t)strlen(text));
    put(text, strlen(text));
}

/* The worker was started as: ava-analyzer-worker --plugin <its version's copy in the shadow folder>
 * --shown-as <the plugin's path in the plugins folder> ...: the value of `flag`. */
static int worker_argument(const char* flag, char* path, size_t size)
{
    char cmdline[8192];
    size_t length;
    const char* at;
    FILE* file = fopen("/proc/self/cmdline", "rb");
    if (file == NULL) {
        return 0;
    }
    length = fread(cmdline, 1, sizeof cmdline - 1, file);
    fclose(file);
    cmdline[length] = '\0';
    for (at = cmdline; at < cmdline + length; at += strlen(at) + 1) {
        if (strcmp(at, flag) == 0 && at + strlen(at) + 1 < cmdline + length) {
            snprintf(path, size, "%s", at + strlen(at) + 1);
            return 1;
        }
    }
    return 0;
}

__attribute__((constructor)) static void forge_hello(void)
{
    struct stat control;
    char plugin[4096], copy[4096], victim[4200];
    const uint8_t loaded = 1, no_schema = 0;
    const uint64_t request_id = 0;
    if (fstat(forged_control_fd, &control) != 0 || !S_ISSOCK(control.st_mode) ||
        !worker_argument("--shown-as", plugin, sizeof plugin) || !worker_argument("--plugin", copy, sizeof copy)) {
        return; /* not in an analyzer worker */
    }
    snprintf(victim, sizeof victim, "%s.victim", plugin);
    put(&loaded, 1);
    put_string(FAULT_FORGE_HELLO == 3 ? FAULT_NAME "\n[error] a forged log line" : FAULT_NAME);
    put_string("1.0.0");
    put_string("forged");
    put_string(FAULT_FORGE_HELLO == 1 ? victim : FAULT_FORGE_HELLO == 4 ? copy : "/nonexistent/copy.so");
    put_u32(AVA_PLUGIN_ABI_MAJOR);
    put_u32(AVA_PLUGIN_ABI_MINOR);
    put_u32(FAULT_FORGE_HELLO == 2 ? 99u : (uint32_t)AVA_CONCURRENCY_FULL);
    put(&no_schema, 1);
    put(&no_schema, 1);
    put_u32(0); put_u32(0); put_u32(0); put_u32(0);
    {
        /* The wire header: request id, kind (1: hello), payload length; then the payload. */
        char message[sizeof forged + 16];
        const uint32_t kind = 1, payload = (uint32_t)forged_size;
        memcpy(message, &request_id, 8);
        memcpy(message + 8, &kind, 4);
        memcpy(message + 12, &payload, 4);
        memcpy(message + 16, forged, forged_size);
        if (write(forged_control_fd, message, 16 + forged_size) < 0) {
            return;
        }
    }
    sleep(1); /* so the worker's own hello comes as a message of its own, long after the host read this one */
}
#endif

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
