// Plugin fault containment, through the real host: faulty C plugins (fault_plugin.c) crash, hang, leak
// and misbehave in their worker processes while a gRPC stream and HTTP requests run on color_intensity.
// Each test checks that the good traffic loses nothing and sees no error, that the faulty analyzer's
// request gets the documented error within its deadline, and that its worker is restarted.
#include "good_stream.h"
#include "host_process.h"
#include "stream_client.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <future>
#include <thread>

namespace ava::test {
namespace {

using namespace std::chrono_literals;

const std::string raw_type = "image/x-raw; width=64; height=48; format=bgr24";
const std::string black = std::string(64 * 48 * 3, '\0');

// HTTP requests to color_intensity, one after another, each checked.
class GoodHttp {
public:
    explicit GoodHttp(std::uint16_t port) : worker_([this, port] { run(port); })
    {
        EXPECT_TRUE(eventually([this] { return answered_.load() >= 3; })) << "the good HTTP client did not get going";
    }
    GoodHttp(const GoodHttp&) = delete;
    GoodHttp& operator=(const GoodHttp&) = delete;
    ~GoodHttp() { stop(); }

    void stop()
    {
        if (!worker_.joinable()) {
            return;
        }
        const int seen = answered_.load();
        EXPECT_TRUE(eventually([&] { return answered_.load() >= seen + 3; })) << "the good HTTP client stalled";
        stop_ = true;
        worker_.join();
        EXPECT_EQ(error_, "") << "the good HTTP client saw an error";
    }

private:
    void run(std::uint16_t port)
    {
        while (!stop_) {
            const auto reply = http_post(port, "/color_intensity", raw_type, black);
            if (reply.status != 200 || reply.body.find("dark") == std::string::npos) {
                error_ = std::to_string(reply.status) + ": " + reply.body;
                return;
            }
            ++answered_;
        }
    }

    std::atomic<int> answered_{0};
    std::atomic<bool> stop_{false};
    std::string error_;
    std::thread worker_;
};

rapidjson::Document analyzers(std::uint16_t port)
{
    rapidjson::Document doc;
    doc.Parse(http_request(port, "GET", "/analyzers").body.c_str());
    return doc;
}

// The fault analyzer's worker as /analyzers shows it: {"state", "pid", "restarts", "lastFailure"}.
struct WorkerView {
    std::string state;
    int pid = 0;
    std::uint64_t restarts = 0;
    std::string last_failure;
};

std::optional<WorkerView> worker_of(std::uint16_t port, const std::string& name)
{
    const auto doc = analyzers(port);
    if (!doc.IsObject() || !doc.HasMember("analyzers")) {
        return std::nullopt;
    }
    for (const auto& a : doc["analyzers"].GetArray()) {
        if (a["name"].GetString() == name && std::string(a["state"].GetString()) == "active" && a.HasMember("worker")) {
            const auto& w = a["worker"];
            return WorkerView{w["state"].GetString(), w["pid"].GetInt(), w["restarts"].GetUint64(),
                              w["lastFailure"].IsString() ? w["lastFailure"].GetString() : ""};
        }
    }
    return std::nullopt;
}

class Isolation : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (running_under_address_sanitizer()) {
            // The workers inherit the host's environment: let a plugin's SIGSEGV be the signal it is,
            // rather than AddressSanitizer's report and exit code, so the host sees what users would see.
            const char* options = std::getenv("ASAN_OPTIONS");
            ::setenv("ASAN_OPTIONS", (std::string(options != nullptr ? options : "") + ":handle_segv=0").c_str(), 1);
        }
        start({});
    }

    void start(std::vector<std::string> extra)
    {
        good_grpc_.reset();
        good_http_.reset();
        host_.reset();
        std::filesystem::copy_file(built_plugins_dir() / "libcolor_intensity.so", plugins_.path() / "libcolor_intensity.so",
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::copy_file(test_plugins_dir() / "libfault.so", plugins_.path() / "libfault.so",
                                   std::filesystem::copy_options::overwrite_existing);
        std::vector<std::string> args = {"--analysis-timeout-ms", "1500", "--plugin-load-timeout-ms", "3000",
                                         "--plugin-memory-mib",   "256"};
        args.insert(args.end(), extra.begin(), extra.end());
        host_ = std::make_unique<HostProcess>(args, plugins_.path());
        good_grpc_ = std::make_unique<GoodStream>(host_->grpc_port());
        good_http_ = std::make_unique<GoodHttp>(host_->http_port());
    }

    void TearDown() override
    {
        good_grpc_.reset(); // checks: nothing lost, no error
        good_http_.reset();
        if (host_) {
            EXPECT_TRUE(host_->running()) << host_->log();
        }
    }

    std::uint16_t port() const { return host_->http_port(); }

    HttpReply fault(const std::string& kind) const
    {
        return http_post(port(), "/fault?fault=" + kind, raw_type, black);
    }

    // After a fault, the analyzer answers again from a new worker.
    void expect_restarted(int crashed_pid) const
    {
        EXPECT_TRUE(eventually([&] { return fault("none").status == 200; }, 5s)) << host_->log();
        const auto worker = worker_of(port(), "fault");
        ASSERT_TRUE(worker);
        EXPECT_EQ(worker->state, "running");
        EXPECT_GE(worker->restarts, 1u);
        EXPECT_NE(worker->pid, crashed_pid);
        EXPECT_NE(worker->pid, 0);
    }

    TempDir plugins_;
    std::unique_ptr<HostProcess> host_;
    std::unique_ptr<GoodStream> good_grpc_;
    std::unique_ptr<GoodHttp> good_http_;
};

TEST_F(Isolation, AnalyzersRunInWorkerProcessesNotInTheHost)
{
    const auto worker = worker_of(port(), "fault");
    ASSERT_TRUE(worker);
    EXPECT_EQ(worker->state, "running");
    EXPECT_NE(worker->pid, 0);
    EXPECT_NE(worker->pid, host_->pid());
    std::ifstream host_maps("/proc/" + std::to_string(host_->pid()) + "/maps");
    const std::string maps((std::istreambuf_iterator<char>(host_maps)), std::istreambuf_iterator<char>());
    EXPECT_EQ(maps.find("libfault."), std::string::npos) << "the plugin's code must not be mapped in the host";
    EXPECT_NE(maps_of_host_and_workers(host_->pid()).find("libfault."), std::string::npos);
    EXPECT_EQ(fault("none").status, 200);
    // A SIGTERM or SIGINT for the whole group (systemd's stop, Ctrl-C) is the host's to act on, not the worker's.
    ::kill(worker->pid, SIGTERM);
    ::kill(worker->pid, SIGINT);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(fault("none").status, 200);
    EXPECT_EQ(worker_of(port(), "fault")->pid, worker->pid);
}

TEST_F(Isolation, ConfigurationRunsATrustedAnalyzerInTheHost)
{
    TempDir config_dir;
    const auto config = config_dir.path() / "config.json";
    std::ofstream(config) << R"({"isolation": {"analysisTimeoutMs": 1500, "analyzers": {"fault": {"mode": "none"}}}})";
    start({"--config", config.string()});
    const auto doc = analyzers(port());
    std::map<std::string, std::string> isolation;
    for (const auto& a : doc["analyzers"].GetArray()) {
        isolation[a["name"].GetString()] = a["isolation"].GetString();
    }
    EXPECT_EQ(isolation["fault"], "none");
    EXPECT_EQ(isolation["color_intensity"], "process");
    EXPECT_FALSE(worker_of(port(), "fault").has_value());
    std::ifstream host_maps("/proc/" + std::to_string(host_->pid()) + "/maps");
    const std::string maps((std::istreambuf_iterator<char>(host_maps)), std::istreambuf_iterator<char>());
    EXPECT_NE(maps.find("libfault."), std::string::npos) << "a trusted plugin's code is mapped in the host";
    EXPECT_EQ(fault("none").status, 200);
    const auto refused = run_host_command({"--check-config", config.string(), "--plugins-dir", plugins_.path().string(),
                                           "--isolation", "sometimes"});
    EXPECT_EQ(refused.first, 2) << refused.second;
    EXPECT_NE(refused.second.find("--isolation 'sometimes' is not one of process, none"), std::string::npos)
        << refused.second;
}

TEST_F(Isolation, SegfaultIsTheAnalyzersErrorAndItsWorkerRestarts)
{
    const int before = worker_of(port(), "fault")->pid;
    const auto reply = fault("segv");
    EXPECT_EQ(reply.status, 500);
    EXPECT_NE(reply.body.find("killed by signal 11"), std::string::npos) << reply.body;
    expect_restarted(before);
}

TEST_F(Isolation, AbortIsTheAnalyzersErrorAndItsWorkerRestarts)
{
    const int before = worker_of(port(), "fault")->pid;
    const auto reply = fault("abort");
    EXPECT_EQ(reply.status, 500);
    EXPECT_NE(reply.body.find("killed by signal 6"), std::string::npos) << reply.body;
    expect_restarted(before);
}

TEST_F(Isolation, GarbageStatusIsTheAnalyzersError)
{
    const auto reply = fault("status");
    EXPECT_EQ(reply.status, 500);
    EXPECT_NE(reply.body.find("unknown status 77"), std::string::npos) << reply.body;
    EXPECT_EQ(fault("none").status, 200);
}

TEST_F(Isolation, SinkCalledAfterProcessReturnedIsRefusedAndCounted)
{
    EXPECT_EQ(fault("late").status, 200);
    std::this_thread::sleep_for(200ms); // the plugin's thread emits 50 ms after process() returned
    const auto next = fault("none");
    EXPECT_EQ(next.status, 200);
    EXPECT_EQ(next.body.find("late"), std::string::npos) << "a late emit must not reach another frame's answer";
    EXPECT_TRUE(eventually([&] { return host_->log().find("came after process() returned") != std::string::npos; }))
        << host_->log();
}

TEST_F(Isolation, HangingProcessMissesItsDeadlineAndFreesItsSlot)
{
    const auto started = std::chrono::steady_clock::now();
    const auto reply = fault("hang");
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(reply.status, 500);
    EXPECT_NE(reply.body.find("analyzer 'fault' exceeded its 1500 ms deadline"), std::string::npos) << reply.body;
    EXPECT_LT(took, 4s);
    // Two hangs at once would have taken both frame workers before isolation: now they end on time.
    auto first = std::async(std::launch::async, [&] { return fault("hang").status; });
    auto second = std::async(std::launch::async, [&] { return fault("hang").status; });
    EXPECT_EQ(first.get(), 500);
    EXPECT_EQ(second.get(), 500);
    EXPECT_TRUE(eventually([&] { return fault("none").status == 200; }, 5s));
}

TEST_F(Isolation, SigtermStopsTheHostWithinTheDrainTimeWhileAPluginHangs)
{
    auto hanging = std::async(std::launch::async, [&] { return fault("hang").status; });
    std::this_thread::sleep_for(300ms);
    good_grpc_.reset();
    good_http_.reset();
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(host_->terminate(12s), 0) << host_->log();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 11s);
    hanging.wait();
    host_.reset();
}

TEST_F(Isolation, HangingOpenStreamFailsThatStreamOnly)
{
    StreamClient client(make_channel(host_->grpc_port()), {}, 20s);
    DescriptorSpec spec;
    spec.extension_configuration = R"({"analyzer":"fault","parameters":{"fault":"hang_open"}})";
    MediaStreamMessage reply;
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(client.send(descriptor_message(spec)));
    EXPECT_FALSE(client.read(reply));
    const auto status = client.finish();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_NE(status.error_message().find("deadline in open_stream()"), std::string::npos) << status.error_message();
}

TEST_F(Isolation, GrpcStreamStaysOpenWhenItsAnalyzerFailsAFrameThenEndsAfterFiveInARow)
{
    StreamClient client(make_channel(host_->grpc_port()), {}, 30s);
    DescriptorSpec spec;
    spec.extension_configuration = R"({"analyzer":"fault","parameters":{"fault":"status"}})";
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(spec)) && client.read(reply));
    const auto frame = solid_raw_frame(64, 48, 64 * 3, {0, 0, 0});
    for (std::uint64_t i = 0; i < 4; ++i) {
        ASSERT_TRUE(client.send(embedded_sample(2 + i, i, frame)));
        ASSERT_TRUE(client.read(reply)) << "frame " << i << " must be acknowledged";
        EXPECT_EQ(reply.ack_sequence_number(), 2 + i);
        EXPECT_EQ(reply.media_sample().inferences_size(), 0);
    }
    ASSERT_TRUE(client.send(embedded_sample(6, 4, frame)));
    EXPECT_FALSE(client.read(reply));
    const auto status = client.finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_NE(status.error_message().find("5 frames in a row failed"), std::string::npos) << status.error_message();
    EXPECT_NE(status.error_message().find("unknown status 77"), std::string::npos) << status.error_message();
}

TEST_F(Isolation, RepeatedCrashesMarkTheAnalyzerFailedUntilAReload)
{
    ASSERT_TRUE(eventually(
        [&] {
            fault("segv");
            const auto worker = worker_of(port(), "fault");
            return worker && worker->state == "failed";
        },
        20s))
        << host_->log();
    const auto refused = fault("none");
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_NE(refused.body.find("marked failed"), std::string::npos) << refused.body;
    const auto ready = http_request(port(), "GET", "/readyz");
    EXPECT_EQ(ready.status, 503);
    EXPECT_NE(ready.body.find("analyzer 'fault' is marked failed"), std::string::npos) << ready.body;
    const auto metrics = http_request(port(), "GET", "/metrics").body;
    EXPECT_NE(metrics.find("ava_analyzers_failed 1"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("ava_plugin_worker_restarts "), std::string::npos) << metrics;
    EXPECT_EQ(http_request(port(), "POST", "/admin/reload").status, 200);
    EXPECT_TRUE(eventually([&] { return fault("none").status == 200; }, 5s));
    EXPECT_EQ(http_request(port(), "GET", "/readyz").status, 200);
}

TEST_F(Isolation, LeakingPluginIsStoppedAtItsMemoryLimit)
{
    if (running_under_address_sanitizer()) {
        GTEST_SKIP() << "no worker memory limit under AddressSanitizer (its shadow memory counts against it)";
    }
    HttpReply reply;
    for (int i = 0; i < 60 && reply.status != 500; ++i) {
        reply = fault("leak");
    }
    EXPECT_EQ(reply.status, 500);
    EXPECT_NE(reply.body.find("exceeded its memory limit of 256 MiB"), std::string::npos) << reply.body;
    std::ifstream status("/proc/" + std::to_string(host_->pid()) + "/status");
    std::string line;
    while (std::getline(status, line) && line.rfind("VmRSS:", 0) != 0) {
    }
    EXPECT_LT(std::stoul(line.substr(6)), 200u * 1024) << "the host itself must not grow: " << line;
    EXPECT_TRUE(eventually([&] { return fault("none").status == 200; }, 5s));
}

TEST_F(Isolation, EntryPointCrashIsARefusalAtStartAndOnHotReload)
{
    std::filesystem::copy_file(test_plugins_dir() / "libfault_entry.so", plugins_.path() / "libfault_entry.so");
    EXPECT_TRUE(eventually([&] { return host_->log().find("libfault_entry.so: refused") != std::string::npos; }))
        << host_->log();
    EXPECT_EQ(http_post(port(), "/fault_entry", raw_type, black).status, 404);
    start({}); // and at start, with the crashing plugin already in the folder
    EXPECT_NE(host_->log().find("libfault_entry.so: refused"), std::string::npos) << host_->log();
    EXPECT_EQ(fault("none").status, 200);
}

// Every worker of a version loads that version's own copy: after a newer file in the folder was refused,
// the version before keeps serving, also once its worker crashed and was restarted.
TEST_F(Isolation, RestartedWorkerRunsItsVersionNotTheFileInTheFolderNow)
{
    const auto before = worker_of(port(), "fault");
    ASSERT_TRUE(before);
    std::filesystem::copy_file(test_plugins_dir() / "libno_entry.so", plugins_.path() / "libfault.so",
                               std::filesystem::copy_options::overwrite_existing);
    EXPECT_TRUE(eventually([&] { return host_->log().find("libfault.so: refused: no entry symbol") != std::string::npos; }))
        << host_->log();
    EXPECT_EQ(fault("segv").status, 500);
    expect_restarted(before->pid);
    EXPECT_EQ(host_->log().find("restarting its worker failed"), std::string::npos) << host_->log();
}

// A plugin's constructors run in the worker before its hello and can write a hello of their own: the host
// checks what it reads there as it checks a descriptor, and removes no file but the one it named itself.
TEST_F(Isolation, ForgedHellosAreRefusedAndNothingTheyNameIsRemoved)
{
    const auto victim = plugins_.path() / "libfault_forged_path.so.victim"; // the forged hello names it
    std::ofstream(victim) << "precious\n";
    for (const char* name : {"fault_forged_path", "fault_forged_concurrency", "fault_forged_name", "fault_forged_copy"}) {
        const auto file = "lib" + std::string(name) + ".so";
        std::filesystem::copy_file(test_plugins_dir() / file, plugins_.path() / file);
    }
    const auto refused = [&](const std::string& file, const std::string& why) {
        return eventually([&] {
            const auto log = host_->log();
            const auto at = log.find(file + ": refused");
            return at != std::string::npos && log.find(why, at) != std::string::npos;
        }, 10s);
    };
    EXPECT_TRUE(refused("libfault_forged_path.so", "names a loaded copy other than the one the host told the worker"))
        << host_->log();
    // Inside the shadow folder is not enough: there it would name a version's copy, which restarts need.
    EXPECT_TRUE(refused("libfault_forged_copy.so", "names a loaded copy other than the one the host told the worker"))
        << host_->log();
    EXPECT_TRUE(refused("libfault_forged_concurrency.so", "unknown concurrency value 99")) << host_->log();
    EXPECT_TRUE(refused("libfault_forged_name.so", "is not printable UTF-8 text")) << host_->log();
    EXPECT_EQ(host_->log().find("\n[error] a forged log line"), std::string::npos) << host_->log();
    for (const char* name : {"/fault_forged_path", "/fault_forged_concurrency", "/fault_forged_copy"}) {
        EXPECT_EQ(http_post(port(), name, raw_type, black).status, 404) << name;
    }
    EXPECT_EQ(fault("none").status, 200);
    EXPECT_TRUE(host_->running()) << host_->log();
    good_grpc_.reset(); // checks: nothing lost, no error
    good_http_.reset();
    host_.reset(); // every worker ends: the host removes what it believes are their loaded copies
    EXPECT_TRUE(std::filesystem::exists(victim));
}

TEST_F(Isolation, HangingCreateIsRefusedAfterTheLoadDeadlineAndLoadingGoesOn)
{
    std::filesystem::copy_file(test_plugins_dir() / "libfault_create.so", plugins_.path() / "libfault_create.so");
    EXPECT_TRUE(eventually([&] { return host_->log().find("libfault_create.so: refused") != std::string::npos; }, 10s))
        << host_->log();
    EXPECT_NE(host_->log().find("3000 ms deadline in create()"), std::string::npos) << host_->log();
    // The reload thread is free again: a new plugin still loads.
    std::filesystem::copy_file(built_plugins_dir() / "libmotion.so", plugins_.path() / "libmotion.so");
    EXPECT_TRUE(eventually([&] { return worker_of(port(), "motion").has_value(); }, 10s)) << host_->log();
}

} // namespace
} // namespace ava::test
