// Hot reload of plugins through the real host: versions of the "swap" test analyzer are dropped into,
// copied over, moved over and removed from the plugins folder of a running host, under load.
#include "reload_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

namespace ava::test {
namespace {

using namespace std::chrono_literals;

class HotReload : public ::testing::Test {
protected:
    std::filesystem::path swap_file() const { return plugins_.path() / "libswap.so"; }

    void start(const std::string& first_build, std::vector<std::string> args = {})
    {
        if (!first_build.empty()) {
            copy_over(test_plugin(first_build), swap_file());
        }
        args.emplace_back("--no-grpc");
        host_ = std::make_unique<HostProcess>(args, plugins_.path());
    }

    std::uint16_t port() const { return host_->http_port(); }
    std::string swap_answer() const { return answer(port(), "/swap"); }

    std::optional<ListedAnalyzer> listed(const std::string& name, const std::string& state) const
    {
        for (auto& a : listed_analyzers(port())) {
            if (a.name == name && a.state == state) {
                return a;
            }
        }
        return std::nullopt;
    }

    TempDir plugins_;
    std::unique_ptr<HostProcess> host_;
};

TEST_F(HotReload, PluginDroppedIntoTheFolderStartsAnswering)
{
    start("");
    EXPECT_EQ(swap_answer().substr(0, 8), "HTTP 404");
    copy_over(test_plugin("swap_v1"), swap_file());
    ASSERT_TRUE(eventually([&] { return swap_answer() == "v1"; })) << host_->log();
    const auto swap = listed("swap", "active");
    ASSERT_TRUE(swap);
    EXPECT_EQ(swap->version, "1.0.0");
    EXPECT_EQ(swap->source, swap_file().string());
    EXPECT_EQ(counter(port(), "reloads", "plugins"), 1u);
    EXPECT_NE(host_->log().find("loaded analyzer 'swap' version 1.0.0 (ABI 1.2, isolation process) from " + swap_file().string()),
              std::string::npos);
}

// Clients post back to back while v2 is copied over v1 in place. No request may fail, and once any client
// has seen v2, every request sent after that answers v2.
TEST_F(HotReload, VersionCopiedOverUnderSteadyLoadLosesNoRequest)
{
    start("swap_v1");
    ASSERT_EQ(swap_answer(), "v1");
    const auto v1 = listed("swap", "active");
    ASSERT_TRUE(v1);

    struct Sample {
        std::chrono::steady_clock::time_point sent;
        std::chrono::steady_clock::time_point received;
        std::string answer;
    };
    std::atomic<bool> swapped{false};
    std::atomic<bool> stop{false};
    std::vector<std::vector<Sample>> samples(4);
    std::vector<std::jthread> clients;
    for (auto& mine : samples) {
        clients.emplace_back([&, &mine = mine] {
            while (!stop) {
                const auto sent = std::chrono::steady_clock::now();
                auto value = swap_answer();
                mine.push_back({sent, std::chrono::steady_clock::now(), std::move(value)});
                if (mine.back().answer == "v2") {
                    swapped = true;
                }
            }
        });
    }
    std::this_thread::sleep_for(300ms);
    copy_over(test_plugin("swap_v2"), swap_file());
    const bool switched = eventually([&] { return swapped.load(); });
    std::this_thread::sleep_for(300ms); // more requests on v2
    stop = true;
    clients.clear();
    ASSERT_TRUE(switched) << host_->log();

    auto first_v2 = std::chrono::steady_clock::time_point::max();
    std::size_t total = 0;
    for (const auto& mine : samples) {
        for (const auto& s : mine) {
            if (s.answer == "v2") {
                first_v2 = std::min(first_v2, s.received);
            }
        }
    }
    for (const auto& mine : samples) {
        total += mine.size();
        for (const auto& s : mine) {
            ASSERT_TRUE(s.answer == "v1" || s.answer == "v2") << s.answer;
            if (s.sent > first_v2) {
                EXPECT_EQ(s.answer, "v2") << "new work went to the old version";
            }
        }
    }
    EXPECT_GT(total, 20u);
    // v1 drains (nothing holds it any more) and is unloaded: its shadow copy is no longer mapped.
    EXPECT_TRUE(eventually([&] { return !mapped(host_->pid(), v1->loaded_from); }, 5s)) << v1->loaded_from;
    EXPECT_FALSE(listed("swap", "draining"));
    EXPECT_NE(host_->log().find("analyzer 'swap' version 1.0.0 drained and unloaded"), std::string::npos) << host_->log();
}

TEST_F(HotReload, VersionMovedIntoPlaceReplacesTheOldOne)
{
    start("swap_v1");
    ASSERT_EQ(swap_answer(), "v1");
    move_into_place(test_plugin("swap_v2"), swap_file());
    ASSERT_TRUE(eventually([&] { return swap_answer() == "v2"; })) << host_->log();
    const auto active = listed("swap", "active");
    ASSERT_TRUE(active);
    EXPECT_EQ(active->version, "2.0.0");
    // The temporary name never looked like a plugin.
    EXPECT_EQ(host_->log().find(".partial"), std::string::npos) << host_->log();
}

// Every way a new version can be broken: each is refused with one clear line, and v2 keeps answering.
TEST_F(HotReload, BrokenVersionsAreRefusedAndTheOldOneKeepsServing)
{
    start("swap_v2");
    ASSERT_EQ(swap_answer(), "v2");
    const auto half_of_v1 = plugins_.path() / "half.bin";
    {
        std::ifstream in(test_plugin("swap_v1"), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(half_of_v1, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    const auto not_elf = plugins_.path() / "text.bin";
    std::ofstream(not_elf) << "#!/bin/sh\necho this is not a plugin\n";

    const std::vector<std::pair<std::filesystem::path, std::string>> broken{
        {test_plugin("swap_v3_abi"), "refused: built for plugin ABI 2.2, this host implements ABI 1.2"},
        {test_plugin("swap_v3_symbol"), "undefined symbol: ava_swap_missing_function"},
        {test_plugin("swap_v3_create"), "swap: create failed: swap: this build always fails to create"},
        {not_elf, "refused: not an ELF shared library"},
        {half_of_v1, "refused: cannot load: truncated ELF file (still being written?)"},
    };
    std::uint64_t refusals = counter(port(), "refusals", "plugins");
    for (const auto& [build, expected] : broken) {
        copy_over(build, swap_file());
        ASSERT_TRUE(eventually([&] { return counter(port(), "refusals", "plugins") == refusals + 1; }))
            << build << "\n" << host_->log();
        ++refusals;
        const auto doc = listing(port());
        const std::string last = doc["lastRefusals"]["plugins"].GetString();
        EXPECT_NE(last.find(swap_file().string()), std::string::npos) << last;
        EXPECT_NE(last.find(expected), std::string::npos) << last;
        EXPECT_NE(last.find("(version 2.0.0 of 'swap' keeps serving)"), std::string::npos) << last;
        EXPECT_EQ(swap_answer(), "v2");
    }
    EXPECT_EQ(counter(port(), "reloads", "plugins"), 0u);
    // A good version after the broken ones loads as usual.
    copy_over(test_plugin("swap_v1"), swap_file());
    EXPECT_TRUE(eventually([&] { return swap_answer() == "v1"; })) << host_->log();
    EXPECT_TRUE(host_->running());
}

// A request in flight on v1 finishes on v1 after the file is removed; v1 is listed as draining until then,
// and unloaded after.
TEST_F(HotReload, RemovedPluginDrainsThenUnloads)
{
    start("swap_v1");
    const auto v1 = listed("swap", "active");
    ASSERT_TRUE(v1);
    ASSERT_TRUE(mapped(host_->pid(), v1->loaded_from));
    auto slow = std::async(std::launch::async, [&] { return answer(port(), "/swap?delay_ms=2000"); });
    std::this_thread::sleep_for(300ms); // the slow request is in the analyzer now
    std::filesystem::remove(swap_file());

    ASSERT_TRUE(eventually([&] { return listed("swap", "draining").has_value(); })) << host_->log();
    EXPECT_FALSE(listed("swap", "active"));
    EXPECT_EQ(swap_answer().substr(0, 8), "HTTP 404") << "a removed analyzer takes no new work";
    EXPECT_TRUE(mapped(host_->pid(), v1->loaded_from)) << "unloaded while a request still used it";

    EXPECT_EQ(slow.get(), "v1");
    EXPECT_TRUE(eventually([&] { return !mapped(host_->pid(), v1->loaded_from); }, 5s)) << host_->log();
    EXPECT_FALSE(listed("swap", "draining"));
    // An isolated version's copy is removed by the host once its worker has been reaped, just after the
    // worker's mappings went away.
    EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(v1->loaded_from); }, 5s)) << v1->loaded_from;
    EXPECT_EQ(counter(port(), "reloads", "plugins"), 1u);
}

TEST_F(HotReload, FileReplacedByAnotherAnalyzerRetiresTheOldName)
{
    start("swap_v1");
    ASSERT_EQ(swap_answer(), "v1");
    copy_over(test_plugin("probe"), swap_file());
    ASSERT_TRUE(eventually([&] { return http_post(port(), "/probe", "image/x-raw; width=2; height=2; format=gray8",
                                                  std::string(4, '\0'))
                                            .status == 200; }))
        << host_->log();
    EXPECT_EQ(swap_answer().substr(0, 8), "HTTP 404");
    EXPECT_NE(host_->log().find("now provides analyzer 'probe' instead of 'swap'"), std::string::npos) << host_->log();
}

// Repeated swaps leave exactly one version mapped: no library leaks across reloads.
TEST_F(HotReload, RepeatedSwapsLeaveOneVersionMapped)
{
    start("swap_v1");
    for (int i = 0; i < 6; ++i) {
        const std::string next = i % 2 == 0 ? "v2" : "v1";
        copy_over(test_plugin("swap_" + next), swap_file());
        ASSERT_TRUE(eventually([&] { return swap_answer() == next; })) << host_->log();
    }
    ASSERT_TRUE(eventually([&] { return !listed("swap", "draining"); }, 5s));
    // A version leaves the listing just before its worker process exits: wait for the maps to follow.
    std::set<std::string> swap_copies;
    EXPECT_TRUE(eventually(
        [&] {
            swap_copies.clear();
            std::istringstream maps(maps_of_host_and_workers(host_->pid()));
            for (std::string line; std::getline(maps, line);) {
                if (line.find("/libswap.") != std::string::npos) {
                    swap_copies.insert(line.substr(line.find('/')));
                }
            }
            return swap_copies.size() == 1;
        },
        5s))
        << swap_copies.size() << " versions still mapped";
    EXPECT_EQ(counter(port(), "reloads", "plugins"), 6u);
}

TEST_F(HotReload, AdminReloadRescansAndNeedsTheCredentials)
{
    std::ofstream(plugins_.path() / "libjunk.so") << "not a library";
    start("swap_v1", {"--username", "operator", "--password", "secret"});
    const Headers authorized{{"Authorization", "Basic b3BlcmF0b3I6c2VjcmV0"}}; // operator:secret
    EXPECT_EQ(http_request(port(), "GET", "/analyzers").status, 401);
    EXPECT_EQ(http_request(port(), "POST", "/admin/reload").status, 401);
    EXPECT_EQ(http_request(port(), "GET", "/admin/reload", "", "", authorized).status, 405);

    // The junk file is refused again on an explicit reload, and the answer says so.
    auto reply = http_request(port(), "POST", "/admin/reload", "", "", authorized);
    EXPECT_EQ(reply.status, 422) << reply.body;
    EXPECT_NE(reply.body.find(R"("ok":false,"config":null)"), std::string::npos) << reply.body;
    EXPECT_NE(reply.body.find("libjunk.so: refused: not an ELF shared library"), std::string::npos) << reply.body;

    std::filesystem::remove(plugins_.path() / "libjunk.so");
    copy_over(test_plugin("probe"), plugins_.path() / "libprobe.so");
    reply = http_request(port(), "POST", "/admin/reload", "", "", authorized);
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_TRUE(reply.body.find(R"("loaded":["probe 1.0.0 from )") != std::string::npos ||
                listing(port(), authorized)["reloads"]["plugins"].GetUint64() == 1) // the watcher may have been first
        << reply.body;
    EXPECT_EQ(http_post(port(), "/probe", "image/x-raw; width=2; height=2; format=gray8", std::string(4, '\0'),
                        authorized)
                  .status,
              200);
}

// TODO(grpc): once tests/grpc has a client helper: an open gRPC stream keeps v1 until it ends while new
// streams get v2 (the host side is in place: a stream holds its RouteTarget, hence its analyzer version).

} // namespace
} // namespace ava::test
