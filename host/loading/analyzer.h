#pragma once
// Analyzer: the C++ face of one plugin instance (create/destroy), and AnalyzerSession: one stream on it
// (open_stream/close_stream/process). Both hold shared_ptrs up the chain (session -> analyzer -> library),
// so a library stays loaded until its last session ends, whatever the registry does meanwhile.

#include "plugin_library.h"

#include "frames/frame.h"
#include "inferences/inference.h"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

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
    struct Key { explicit Key() = default; };

public:
    // Creates a plugin instance with its configuration (a JSON object). Throws AnalyzerError.
    static std::shared_ptr<Analyzer> create(std::shared_ptr<PluginLibrary> library, std::string config_json);

    Analyzer(Key, std::shared_ptr<PluginLibrary> library, std::string config_json, void* instance);
    Analyzer(const Analyzer&) = delete;
    Analyzer& operator=(const Analyzer&) = delete;
    ~Analyzer();

    // Throws AnalyzerError (e.g. a bad parameter).
    std::unique_ptr<AnalyzerSession> open_session(const StreamInfo& info);

    const PluginLibrary& library() const noexcept { return *library_; }
    // For another instance of the same loaded library (a new configuration), without loading it again.
    const std::shared_ptr<PluginLibrary>& shared_library() const noexcept { return library_; }
    const std::string& name() const noexcept { return name_; }
    const std::string& config_json() const noexcept { return config_json_; }

private:
    friend class AnalyzerSession;

    std::shared_ptr<PluginLibrary> library_; // first member: destroyed last, after the instance
    std::string name_;
    std::string config_json_;
    void* instance_;
    // AVA_CONCURRENCY_SERIAL plugins: every call on the instance (open_stream, process, close_stream) holds it.
    std::unique_lock<std::mutex> serial_lock();
    std::mutex serial_mutex_;
};

class AnalyzerSession {
public:
    AnalyzerSession(std::shared_ptr<Analyzer> analyzer, void* session);
    AnalyzerSession(const AnalyzerSession&) = delete;
    AnalyzerSession& operator=(const AnalyzerSession&) = delete;
    ~AnalyzerSession();

    // Runs the analyzer on one frame, honouring the plugin's declared concurrency. Throws AnalyzerError.
    inferences::InferenceList process(const frames::Frame& frame);

    const Analyzer& analyzer() const noexcept { return *analyzer_; }

private:
    std::shared_ptr<Analyzer> analyzer_;
    void* session_;
    std::mutex session_mutex_; // taken unless the plugin declares AVA_CONCURRENCY_FULL
};

} // namespace ava::loading
