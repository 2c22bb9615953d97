#include "analyzer.h"

#include "inferences/inference_collector.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace ava::loading {

namespace {

// Throws the host's one message for a value the plugin's schema refuses.
void check(const ParameterSchema* schema, const std::string& analyzer, const char* what, std::string_view json)
{
    if (schema == nullptr) {
        return;
    }
    if (auto violation = schema->violation(json); !violation.empty()) {
        throw AnalyzerError(AVA_STATUS_INVALID_ARGUMENT, "analyzer '" + analyzer + "': " + what + violation);
    }
}

} // namespace

std::shared_ptr<Analyzer> Analyzer::create(const std::shared_ptr<LoadedPlugin>& plugin, std::string config_json)
{
    check(plugin->info().configuration_schema.get(), plugin->name(), "configuration: ", config_json);
    return plugin->create_analyzer(std::move(config_json));
}

std::unique_ptr<AnalyzerSession> Analyzer::open_session(const StreamInfo& info)
{
    check(plugin_->info().parameters_schema.get(), name_, "", info.parameters_json);
    return open_checked(info);
}

inferences::InferenceList Analyzer::process_once(const StreamInfo& info, const frames::Frame& frame)
{
    check(plugin_->info().parameters_schema.get(), name_, "", info.parameters_json);
    return process_once_checked(info, frame);
}

inferences::InferenceList Analyzer::process_once_checked(const StreamInfo& info, const frames::Frame& frame)
{
    return open_checked(info)->process(frame);
}

std::string message_of(const ava_error& error, const char* fallback)
{
    // The plugin may not have terminated the buffer: never read past it.
    const std::string message(error.message, strnlen(error.message, sizeof error.message));
    return message.empty() ? fallback : message;
}

inferences::InferenceList answer_of(const std::string& analyzer, ava_status status, const std::string& message,
                                    inferences::InferenceCollector& collector, std::string_view rejection)
{
    const std::string refused = !rejection.empty() ? std::string(rejection) : collector.last_rejection();
    if (status != AVA_STATUS_OK) {
        std::string text = analyzer + ": " + message;
        if (!refused.empty()) {
            text += " (host refused an inference: " + refused + ")";
        }
        throw AnalyzerError(status, text);
    }
    if (!refused.empty()) {
        spdlog::warn("{}: dropped an inference the schema cannot carry: {}", analyzer, refused);
    }
    return collector.take();
}

} // namespace ava::loading
