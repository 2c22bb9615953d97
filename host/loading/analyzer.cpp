#include "analyzer.h"

#include "inferences/inference_collector.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace ava::loading {

std::string message_of(const ava_error& error, const char* fallback)
{
    // The plugin may not have terminated the buffer: never read past it.
    const std::string message(error.message, strnlen(error.message, sizeof error.message));
    return message.empty() ? fallback : message;
}

inferences::InferenceList answer_of(const std::string& analyzer, ava_status status, const std::string& message,
                                    inferences::InferenceCollector& collector)
{
    if (status != AVA_STATUS_OK) {
        std::string text = analyzer + ": " + message;
        if (!collector.last_rejection().empty()) {
            text += " (host refused an inference: " + collector.last_rejection() + ")";
        }
        throw AnalyzerError(status, text);
    }
    if (!collector.last_rejection().empty()) {
        spdlog::warn("{}: dropped an inference the schema cannot carry: {}", analyzer, collector.last_rejection());
    }
    return collector.take();
}

} // namespace ava::loading
