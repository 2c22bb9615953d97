#pragma once
// Analyzer: one plugin instance (create/destroy) with its configuration, and AnalyzerSession: one stream on
// it (open_stream/close_stream/process). Both hold shared_ptrs up the chain (session -> analyzer -> plugin),
// so a plugin version stays loaded until its last session ends, whatever the registry does meanwhile.
// How the calls reach the plugin depends on where it runs (in_process_plugin.h, isolation/); the
// concurrency the plugin declares is enforced here, on the host's side, for both.

#include "loaded_plugin.h"

#include "frames/frame.h"
#include "inferences/inference.h"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ava::inferences {
class InferenceCollector;
}

namespace ava::loading {

// A plugin call failed. status says whose fault: INVALID_ARGUMENT/UNSUPPORTED are the caller's (400),
// the rest the analyzer's (500).
class AnalyzerError : public std::runtime_error {
public:
    AnalyzerError(ava_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    ava_status status() const noexcept { return status_; }
    bool is_callers_fault() const noexcept
    {
        return status_ == AVA_STATUS_INVALID_ARGUMENT || status_ == AVA_STATUS_UNSUPPORTED;
    }

private:
    ava_status status_;
};

// The analyzer cannot take work now (its worker is restarting after a crash, or it was marked failed):
// HTTP 503, gRPC UNAVAILABLE. what() says why.
class AnalyzerUnavailable : public AnalyzerError {
public:
    explicit AnalyzerUnavailable(const std::string& message) : AnalyzerError(AVA_STATUS_INTERNAL, message) {}
};

struct StreamInfo {
    std::string pipeline_name;
    std::string node_name;
    std::string route;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    ava_pixel_format pixel_format = AVA_PIXEL_FORMAT_UNKNOWN;
    std::uint32_t timescale = 0;
    std::string parameters_json = "{}";
};

class AnalyzerSession;

class Analyzer : public std::enable_shared_from_this<Analyzer> {
public:
    // Creates a plugin instance with its configuration (a JSON object), checked first against the plugin's
    // configuration schema. Throws AnalyzerError.
    static std::shared_ptr<Analyzer> create(const std::shared_ptr<LoadedPlugin>& plugin, std::string config_json);

    Analyzer(std::shared_ptr<LoadedPlugin> plugin, std::string config_json)
        : plugin_(std::move(plugin)), name_(plugin_->name()), config_json_(std::move(config_json))
    {
    }
    Analyzer(const Analyzer&) = delete;
    Analyzer& operator=(const Analyzer&) = delete;
    virtual ~Analyzer() = default;

    // Both check info.parameters_json against the plugin's parameters schema before the plugin sees it: a
    // bad value is AnalyzerError(AVA_STATUS_INVALID_ARGUMENT), the same message for every analyzer.
    // Throws AnalyzerError (e.g. a bad parameter).
    std::unique_ptr<AnalyzerSession> open_session(const StreamInfo& info);
    // A session for one frame (an HTTP request without a stream): open, process, close. Throws AnalyzerError.
    inferences::InferenceList process_once(const StreamInfo& info, const frames::Frame& frame);

    const LoadedPlugin& plugin() const noexcept { return *plugin_; }
    // For another instance of the same loaded plugin (a new configuration), without loading it again.
    const std::shared_ptr<LoadedPlugin>& shared_plugin() const noexcept { return plugin_; }
    const std::string& name() const noexcept { return name_; }
    const std::string& config_json() const noexcept { return config_json_; }

    // AVA_CONCURRENCY_SERIAL plugins: every call on the instance (open_stream, process, close_stream) holds it.
    std::unique_lock<std::mutex> serial_lock()
    {
        return plugin_->concurrency() == AVA_CONCURRENCY_SERIAL ? std::unique_lock(serial_mutex_)
                                                                : std::unique_lock<std::mutex>();
    }

protected:
    // Where the plugin runs decides how these reach it; the parameters are checked already.
    virtual std::unique_ptr<AnalyzerSession> open_checked(const StreamInfo& info) = 0;
    virtual inferences::InferenceList process_once_checked(const StreamInfo& info, const frames::Frame& frame);

private:
    std::shared_ptr<LoadedPlugin> plugin_; // first member: destroyed last, after the instance
    std::string name_;
    std::string config_json_;
    std::mutex serial_mutex_;
};

class AnalyzerSession {
public:
    explicit AnalyzerSession(std::shared_ptr<Analyzer> analyzer) : analyzer_(std::move(analyzer)) {}
    AnalyzerSession(const AnalyzerSession&) = delete;
    AnalyzerSession& operator=(const AnalyzerSession&) = delete;
    virtual ~AnalyzerSession() = default;

    // Runs the analyzer on one frame, honouring the plugin's declared concurrency. Throws AnalyzerError.
    virtual inferences::InferenceList process(const frames::Frame& frame) = 0;

    const Analyzer& analyzer() const noexcept { return *analyzer_; }

protected:
    Analyzer& analyzer_mutable() noexcept { return *analyzer_; }
    // Taken around process() unless the plugin declares AVA_CONCURRENCY_FULL.
    std::unique_lock<std::mutex> session_lock()
    {
        return analyzer_->plugin().concurrency() != AVA_CONCURRENCY_FULL ? std::unique_lock(session_mutex_)
                                                                          : std::unique_lock<std::mutex>();
    }

private:
    std::shared_ptr<Analyzer> analyzer_;
    std::mutex session_mutex_;
};

// The plugin's error message (never read past its buffer), or `fallback` when it left none.
std::string message_of(const ava_error& error, const char* fallback);

// A finished process() call as its answer: the collected inferences, or AnalyzerError naming the plugin's
// message. Shared by both isolation modes, so an answer is judged the same wherever the plugin runs.
// `rejection`: why an emit was refused where the plugin ran, when that was not `collector` (a worker).
inferences::InferenceList answer_of(const std::string& analyzer, ava_status status, const std::string& message,
                                    inferences::InferenceCollector& collector, std::string_view rejection = {});

} // namespace ava::loading
