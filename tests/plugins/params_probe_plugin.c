/* params_probe — a test analyzer in C99 for ABI 1.1's parameters: it declares a configuration and a
 * parameters schema, reads every value through the host's typed getters (no JSON parsing), counts the
 * streams it was asked to open, and reports all of it in one event per frame:
 *   event "parameters" {threshold, label, enabled, count: the layered values or "none";
 *                       opens: open_stream calls on this instance; created: "getters" or "json";
 *                       statuses: what the getters answer for a wrong type and a missing name}
 * Built with PARAMS_PROBE_BAD_SCHEMA it declares a parameters schema that is not valid JSON Schema. */
#include <ava_plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PARAMS_PROBE_NAME
#define PARAMS_PROBE_NAME "params_probe"
#endif

#define PARAMS_PROBE_PROPERTIES                                                          \
    "\"properties\":{\"threshold\":{\"type\":\"number\",\"minimum\":0,\"maximum\":255}," \
    "\"label\":{\"type\":\"string\",\"maxLength\":32},"                                  \
    "\"enabled\":{\"type\":\"boolean\"},"                                                \
    "\"count\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100}}"

static const char configuration_schema[] =
    "{\"type\":\"object\"," PARAMS_PROBE_PROPERTIES ",\"additionalProperties\":false}";
#ifdef PARAMS_PROBE_BAD_SCHEMA
static const char parameters_schema[] = "{\"type\":\"object\",\"properties\":{\"threshold\":{\"type\":\"nonsense\"}}}";
#else
static const char parameters_schema[] =
    "{\"type\":\"object\"," PARAMS_PROBE_PROPERTIES ",\"additionalProperties\":false}";
#endif

typedef struct params_instance {
    unsigned long opens; /* SERIAL concurrency: the host calls open_stream one at a time */
    int created_with_getters;
} params_instance;

typedef struct params_session {
    char threshold[32], label[64], enabled[8], count[32], opens[32], statuses[64];
    int created_with_getters;
} params_session;

static ava_status create_instance(void** instance, int with_getters)
{
    params_instance* created = (params_instance*)calloc(1, sizeof *created);
    if (created == NULL) {
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    created->created_with_getters = with_getters;
    *instance = created;
    return AVA_STATUS_OK;
}

static ava_status params_create(const char* config_json, void** instance, ava_error* error)
{
    (void)config_json;
    (void)error;
    return create_instance(instance, 0);
}

static ava_status params_create_with_parameters(const char* config_json, const ava_parameters* config,
                                                void** instance, ava_error* error)
{
    double threshold = 0;
    (void)config_json;
    /* The host checked the configuration against configuration_schema: a wrong type cannot get here. */
    if (config->get_number(config, "threshold", &threshold) == AVA_PARAMETER_WRONG_TYPE) {
        snprintf(error->message, sizeof error->message, "params_probe: threshold of the wrong type got through");
        return AVA_STATUS_INTERNAL;
    }
    return create_instance(instance, 1);
}

static void params_destroy(void* instance) { free(instance); }

static ava_status params_open(void* instance, const ava_stream_info* info, void** session, ava_error* error)
{
    params_instance* owner = (params_instance*)instance;
    const ava_parameters* p;
    params_session* s;
    double threshold;
    const char* label;
    size_t label_size = 0;
    int enabled;
    int64_t count, ignored;
    double missing;
    ++owner->opens;
    if (!AVA_HAS_FIELD(info, ava_stream_info, parameters) || info->parameters == NULL) {
        snprintf(error->message, sizeof error->message, "params_probe: the host gave no typed getters");
        return AVA_STATUS_INTERNAL;
    }
    p = info->parameters;
    s = (params_session*)calloc(1, sizeof *s);
    if (s == NULL) {
        return AVA_STATUS_OUT_OF_MEMORY;
    }
    strcpy(s->threshold, "none");
    strcpy(s->label, "none");
    strcpy(s->enabled, "none");
    strcpy(s->count, "none");
    if (p->get_number(p, "threshold", &threshold) == AVA_PARAMETER_OK) {
        snprintf(s->threshold, sizeof s->threshold, "%g", threshold);
    }
    if (p->get_string(p, "label", &label, &label_size) == AVA_PARAMETER_OK) {
        snprintf(s->label, sizeof s->label, "%.*s", (int)(label_size < 63 ? label_size : 63), label);
    }
    if (p->get_bool(p, "enabled", &enabled) == AVA_PARAMETER_OK) {
        strcpy(s->enabled, enabled ? "true" : "false");
    }
    if (p->get_integer(p, "count", &count) == AVA_PARAMETER_OK) {
        snprintf(s->count, sizeof s->count, "%lld", (long long)count);
    }
    snprintf(s->opens, sizeof s->opens, "%lu", owner->opens);
    snprintf(s->statuses, sizeof s->statuses, "label-as-integer=%d missing=%d null-name=%d",
             (int)p->get_integer(p, "label", &ignored), (int)p->get_number(p, "missing", &missing),
             (int)p->get_number(p, NULL, &missing));
    s->created_with_getters = owner->created_with_getters;
    *session = s;
    return AVA_STATUS_OK;
}

static void params_close(void* session) { free(session); }

static ava_status params_process(void* session, const ava_frame* frame, const ava_result_sink* sink, ava_error* error)
{
    const params_session* s = (const params_session*)session;
    ava_key_value properties[7];
    (void)frame;
    (void)error;
    properties[0].key = "threshold", properties[0].value = s->threshold;
    properties[1].key = "label", properties[1].value = s->label;
    properties[2].key = "enabled", properties[2].value = s->enabled;
    properties[3].key = "count", properties[3].value = s->count;
    properties[4].key = "opens", properties[4].value = s->opens;
    properties[5].key = "created", properties[5].value = s->created_with_getters ? "getters" : "json";
    properties[6].key = "statuses", properties[6].value = s->statuses;
    return sink->event(sink->context, NULL, "parameters", properties, 7);
}

static const ava_plugin_descriptor descriptor = {
    AVA_PLUGIN_ABI_MAJOR, AVA_PLUGIN_ABI_MINOR, sizeof(ava_plugin_descriptor),
    PARAMS_PROBE_NAME, "1.1.0", "Test analyzer in C: declared schemas, typed getters",
    AVA_CONCURRENCY_SERIAL,
    params_create, params_destroy, params_open, params_close, params_process,
    configuration_schema, parameters_schema, params_create_with_parameters, 0, 0, 0, 0};

AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
