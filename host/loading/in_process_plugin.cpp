#include "in_process_plugin.h"

#include "plugin_calls.h"

#include "inferences/inference_collector.h"

namespace ava::loading {
namespace {

class InProcessAnalyzer final : public Analyzer {
public:
    InProcessAnalyzer(std::shared_ptr<InProcessPlugin> plugin, std::string config_json, void* instance)
        : Analyzer(plugin, std::move(config_json)), descriptor_(plugin->descriptor()), instance_(instance)
    {
    }
    ~InProcessAnalyzer() override { descriptor_.destroy(instance_); }

    std::unique_ptr<AnalyzerSession> open_checked(const StreamInfo& info) override;

    const ava_plugin_descriptor& descriptor_;
    void* instance_;
};

class InProcessSession final : public AnalyzerSession {
public:
    InProcessSession(std::shared_ptr<InProcessAnalyzer> analyzer, void* session)
        : AnalyzerSession(analyzer), owner_(*analyzer), session_(session)
    {
    }
    ~InProcessSession() override
    {
        const auto serial = owner_.serial_lock();
        owner_.descriptor_.close_stream(session_);
    }

    inferences::InferenceList process(const frames::Frame& frame) override
    {
        const ava_frame abi = frame.to_abi();
        inferences::InferenceCollector collector(owner_.name());
        ava_error error{};
        ava_status status;
        {
            const auto serial = owner_.serial_lock();
            const auto exclusive = session_lock();
            status = owner_.descriptor_.process(session_, &abi, &collector.sink(), &error);
        }
        return answer_of(owner_.name(), status, message_of(error, "process failed"), collector);
    }

private:
    InProcessAnalyzer& owner_; // kept alive by the base's shared_ptr
    void* session_;
};

std::unique_ptr<AnalyzerSession> InProcessAnalyzer::open_checked(const StreamInfo& info)
{
    PluginCall opened;
    {
        const auto serial = serial_lock();
        opened = call_open_stream(descriptor_, instance_, config_json(), info);
    }
    if (opened.handle == nullptr) {
        throw AnalyzerError(static_cast<ava_status>(opened.status), name() + ": " + opened.message);
    }
    return std::make_unique<InProcessSession>(std::static_pointer_cast<InProcessAnalyzer>(shared_from_this()),
                                              opened.handle);
}

} // namespace

PluginInfo info_of(const PluginLibrary& library)
{
    return PluginInfo{library.name(),        library.version(),     library.description(),
                      library.abi_version(), library.descriptor().concurrency,
                      library.source(),      library.loaded_path(), library.load_time(),
                      library.configuration_schema(), library.parameters_schema(), library.input()};
}

InProcessPlugin::InProcessPlugin(std::shared_ptr<PluginLibrary> library)
    : LoadedPlugin(info_of(*library)), library_(std::move(library))
{
}

std::shared_ptr<Analyzer> InProcessPlugin::create_analyzer(std::string config_json)
{
    const auto created = call_create(descriptor(), config_json);
    if (created.handle == nullptr) {
        throw AnalyzerError(static_cast<ava_status>(created.status), name() + ": create failed: " + created.message);
    }
    return std::make_shared<InProcessAnalyzer>(shared_from_this(), std::move(config_json), created.handle);
}

} // namespace ava::loading
