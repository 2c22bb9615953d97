#include "in_process_plugin.h"

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

    std::unique_ptr<AnalyzerSession> open_session(const StreamInfo& info) override;

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

std::unique_ptr<AnalyzerSession> InProcessAnalyzer::open_session(const StreamInfo& info)
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
        status = descriptor_.open_stream(instance_, &abi, &session, &error);
    }
    if (status != AVA_STATUS_OK || session == nullptr) {
        throw AnalyzerError(status != AVA_STATUS_OK ? status : AVA_STATUS_INTERNAL,
                            name() + ": " + message_of(error, "open_stream returned no session"));
    }
    return std::make_unique<InProcessSession>(std::static_pointer_cast<InProcessAnalyzer>(shared_from_this()), session);
}

} // namespace

PluginInfo info_of(const PluginLibrary& library)
{
    return PluginInfo{library.name(),        library.version(), library.description(),
                      library.abi_version(), library.descriptor().concurrency,
                      library.source(),      library.loaded_path(), library.load_time()};
}

InProcessPlugin::InProcessPlugin(std::shared_ptr<PluginLibrary> library)
    : LoadedPlugin(info_of(*library)), library_(std::move(library))
{
}

std::shared_ptr<Analyzer> InProcessPlugin::create_analyzer(std::string config_json)
{
    ava_error error{};
    void* instance = nullptr;
    const auto& d = descriptor();
    const ava_status status = d.create(config_json.c_str(), &instance, &error);
    if (status != AVA_STATUS_OK || instance == nullptr) {
        throw AnalyzerError(status != AVA_STATUS_OK ? status : AVA_STATUS_INTERNAL,
                            name() + ": create failed: " + message_of(error, "no instance returned"));
    }
    return std::make_shared<InProcessAnalyzer>(shared_from_this(), std::move(config_json), instance);
}

} // namespace ava::loading
