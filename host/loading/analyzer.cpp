#include "analyzer.h"

#include "inferences/inference_collector.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace ava::loading {

inferences::InferenceList Analyzer::process_once(const StreamInfo& info, const frames::Frame& frame)
{
    return open_session(info)->process(frame);
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
