#include "analyzer.h"

#include "inferences/inference_collector.h"

#include <spdlog/spdlog.h>

#include <optional>

namespace ava::loading {
namespace {

std::string message_of(const ava_error& error, const char* fallback)
{
    // The plugin may not have terminated the buffer: never read past it.
    const std::string message(error.message, strnlen(error.message, sizeof error.message));
    return message.empty() ? fallback : message;
}

} // namespace

std::shared_ptr<Analyzer> Analyzer::create(std::shared_ptr<PluginLibrary> library, std::string config_json)
{
    ava_error error{};
    void* instance = nullptr;
    const auto& d = library->descriptor();
    const ava_status status = d.create(config_json.c_str(), &instance, &error);
    if (status != AVA_STATUS_OK || instance == nullptr) {
        throw AnalyzerError(status != AVA_STATUS_OK ? status : AVA_STATUS_INTERNAL,
                            std::string(d.name) + ": create failed: " + message_of(error, "no instance returned"));
    }
    return std::make_shared<Analyzer>(Key{}, std::move(library), std::move(config_json), instance);
}

Analyzer::Analyzer(Key, std::shared_ptr<PluginLibrary> library, std::string config_json, void* instance)
    : library_(std::move(library)), name_(library_->name()), config_json_(std::move(config_json)), instance_(instance)
{
}

Analyzer::~Analyzer() { library_->descriptor().destroy(instance_); }

std::unique_ptr<AnalyzerSession> Analyzer::open_session(const StreamInfo& info)
{
    ava_stream_info abi{};
    abi.struct_size = sizeof abi;
    abi.pipeline_name = info.pipeline_name.c_str();
    abi.node_name = info.node_name.c_str();
    abi.route = info.route.c_str();
    abi.width = info.width;
    abi.height = info.height;
    abi.pixel_format = info.pixel_format;
    abi.timescale = info.timescale;
    abi.parameters_json = info.parameters_json.c_str();
    ava_error error{};
    void* session = nullptr;
    ava_status status;
    {
        const auto serial = serial_lock();
        status = library_->descriptor().open_stream(instance_, &abi, &session, &error);
    }
    if (status != AVA_STATUS_OK || session == nullptr) {
        throw AnalyzerError(status != AVA_STATUS_OK ? status : AVA_STATUS_INTERNAL,
                            name_ + ": " + message_of(error, "open_stream returned no session"));
    }
    return std::make_unique<AnalyzerSession>(shared_from_this(), session);
}

AnalyzerSession::AnalyzerSession(std::shared_ptr<Analyzer> analyzer, void* session)
    : analyzer_(std::move(analyzer)), session_(session)
{
}

AnalyzerSession::~AnalyzerSession()
{
    const auto serial = analyzer_->serial_lock();
    analyzer_->library_->descriptor().close_stream(session_);
}

std::unique_lock<std::mutex> Analyzer::serial_lock()
{
    return library_->descriptor().concurrency == AVA_CONCURRENCY_SERIAL ? std::unique_lock(serial_mutex_)
                                                                         : std::unique_lock<std::mutex>();
}

inferences::InferenceList AnalyzerSession::process(const frames::Frame& frame)
{
    const auto& d = analyzer_->library_->descriptor();
    const ava_frame abi = frame.to_abi();
    inferences::InferenceCollector collector(analyzer_->name_);
    ava_error error{};
    ava_status status;
    {
        const auto serial = analyzer_->serial_lock();
        std::unique_lock<std::mutex> per_session;
        if (d.concurrency != AVA_CONCURRENCY_FULL) {
            per_session = std::unique_lock(session_mutex_);
        }
        status = d.process(session_, &abi, &collector.sink(), &error);
    }
    if (status != AVA_STATUS_OK) {
        std::string message = analyzer_->name_ + ": " + message_of(error, "process failed");
        if (!collector.last_rejection().empty()) {
            message += " (host refused an inference: " + collector.last_rejection() + ")";
        }
        throw AnalyzerError(status, message);
    }
    if (!collector.last_rejection().empty()) {
        spdlog::warn("{}: dropped an inference the schema cannot carry: {}", analyzer_->name_, collector.last_rejection());
    }
    return collector.take();
}

} // namespace ava::loading
