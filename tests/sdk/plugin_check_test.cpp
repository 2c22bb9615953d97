// ava-plugin-check, run as a plugin author runs it: it passes a well-behaved plugin and the bundled ones,
// and fails each deliberately broken build (tests/sdk/broken_plugin.c) with the line that names its defect.
// Also: the host's --check-config fails when a plugin in the folder is refused.
#include "host_process.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <sys/wait.h>

namespace ava::test {
namespace {

struct Run {
    int status = -1;
    std::string output;
};

std::string quoted(const std::string& arg) { return "'" + arg + "'"; }

// Runs ava-plugin-check with `args` (already quoted), stdout and stderr together.
Run check(const std::string& args)
{
    const std::string command = quoted(AVA_TEST_PLUGIN_CHECK) + " " + args + " 2>&1";
    Run run;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), &::pclose);
    if (!pipe) {
        return run;
    }
    std::array<char, 4096> chunk{};
    while (const auto n = std::fread(chunk.data(), 1, chunk.size(), pipe.get())) {
        run.output.append(chunk.data(), n);
    }
    const int raw = ::pclose(pipe.release()); // the exit status is pclose's answer
    run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return run;
}

std::string test_plugin(const std::string& variant)
{
    return quoted((test_plugins_dir() / ("libchecked_" + variant + ".so")).string());
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(PluginCheck, PassesAWellBehavedPluginAndPrintsItsDescriptor)
{
    const auto run = check(test_plugin("ok") + " --frames 20");
    EXPECT_EQ(run.status, 0) << run.output;
    EXPECT_TRUE(has(run.output, "name         checked_ok")) << run.output;
    EXPECT_TRUE(has(run.output, "concurrency  per-session")) << run.output;
    EXPECT_TRUE(has(run.output, "formats      bgr24 rgb24 bgra32 rgba32 gray8")) << run.output;
    EXPECT_TRUE(has(run.output, "time/frame   p50 ")) << run.output;
    EXPECT_TRUE(has(run.output, "\nPASS\n")) << run.output;
}

TEST(PluginCheck, PassesTheBundledColorIntensityPlugin)
{
    const auto run = check(quoted((built_plugins_dir() / "libcolor_intensity.so").string()) + " --frames 30");
    EXPECT_EQ(run.status, 0) << run.output;
    EXPECT_TRUE(has(run.output, "exports      ava_plugin_entry\n")) << run.output;
}

// Each broken build fails, with one line naming the check and what is wrong.
TEST(PluginCheck, FailsEachBrokenPluginWithTheRightMessage)
{
    const std::array<std::pair<const char*, const char*>, 5> cases{{
        {"box", "FAIL box: scene 640x480 bgr24: entity box {l 0.75, t 0.25, w 0.5, h 0.5} lies outside the frame"},
        {"status", "FAIL status: scene 640x480 bgr24: process() returned 42, which is not an ava_status (0..4)"},
        {"utf8", "FAIL utf8: scene 640x480 bgr24: classification value is not valid UTF-8"},
        {"export", "FAIL symbols: exports broken_helper; only ava_plugin_entry may be exported"},
        {"late_sink", "FAIL sink: scene 640x480 bgr24: a classification inference was emitted through this frame's "
                      "sink after process() returned"},
    }};
    for (const auto& [variant, expected] : cases) {
        const auto run = check(test_plugin(variant) + " --frames 20");
        EXPECT_EQ(run.status, 1) << variant << ":\n" << run.output;
        EXPECT_TRUE(has(run.output, expected)) << variant << ":\n" << run.output;
        EXPECT_TRUE(has(run.output, "\nFAIL (")) << variant << ":\n" << run.output;
    }
}

TEST(PluginCheck, FailsAPluginWhoseHeapGrowsFrameAfterFrame)
{
    if (running_under_address_sanitizer()) {
        GTEST_SKIP() << "AddressSanitizer's allocator keeps its own books (mallinfo2 does not see them)";
    }
    const auto run = check(test_plugin("leak") + " --frames 40");
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_TRUE(has(run.output, "FAIL memory: the heap grew by ")) << run.output;
    EXPECT_TRUE(has(run.output, "over 40 frames")) << run.output;
}

TEST(PluginCheck, FailsAPluginWhoseAnswersDependOnConcurrentCallers)
{
    const auto run = check(test_plugin("stateful") + " --frames 20 --threads 4");
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_TRUE(has(run.output, "FAIL concurrency: caller ")) << run.output;
    EXPECT_TRUE(has(run.output, "the answer differs from a sequential run's")) << run.output;
}

TEST(PluginCheck, JsonReportSaysWhatFailed)
{
    const auto run = check(test_plugin("box") + " --frames 20 --json");
    ASSERT_EQ(run.status, 1) << run.output;
    rapidjson::Document report;
    report.Parse(run.output.c_str());
    ASSERT_FALSE(report.HasParseError()) << run.output;
    EXPECT_FALSE(report["passed"].GetBool());
    EXPECT_STREQ(report["descriptor"]["name"].GetString(), "checked_box");
    ASSERT_TRUE(report["failures"].IsArray());
    ASSERT_GE(report["failures"].Size(), 1U);
    EXPECT_TRUE(has(report["failures"][0].GetString(), "box: ")) << run.output;
    EXPECT_GT(report["timing"]["frames"].GetUint(), 0U);
}

// --image adds the user's pictures to the frames (in every format); one that does not decode is a failure.
TEST(PluginCheck, RunsGivenImagesToo)
{
    const TempDir dir;
    const auto frames_of = [](const std::string& output) {
        const auto at = output.find("frames       ");
        return at == std::string::npos ? -1 : std::stoi(output.substr(at + 13));
    };
    const auto without = check(test_plugin("ok") + " --frames 20");
    ASSERT_EQ(without.status, 0) << without.output;
    const auto image = dir.path() / "red.bmp";
    std::ofstream(image, std::ios::binary) << std::string( // 2x1 24-bit BMP, rows padded to 4 bytes
        "BM\x3e\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x02\0\0\0\x01\0\0\0\x01\0\x18\0\0\0\0\0\x08\0\0\0"
        "\x13\x0b\0\0\x13\x0b\0\0\0\0\0\0\0\0\0\0\0\0\xff\0\0\xff\0\0",
        62);
    const auto with = check(test_plugin("ok") + " --frames 20 --image " + quoted(image.string()));
    EXPECT_EQ(with.status, 0) << with.output;
    // The image in 5 formats, then twice in each concurrent caller's sequence (4) and the reference run.
    EXPECT_EQ(frames_of(with.output), frames_of(without.output) + 5 + 2 * 5) << with.output;

    std::ofstream(dir.path() / "broken.jpg") << "not a JPEG";
    const auto broken = check(test_plugin("ok") + " --frames 20 --image " + quoted((dir.path() / "broken.jpg").string()));
    EXPECT_EQ(broken.status, 1) << broken.output;
    EXPECT_TRUE(has(broken.output, "FAIL image: cannot decode image ")) << broken.output;
}

TEST(PluginCheck, RefusedPluginAndUsageErrors)
{
    const auto not_elf = check(quoted(schema_file().string()));
    EXPECT_EQ(not_elf.status, 1) << not_elf.output;
    EXPECT_TRUE(has(not_elf.output, "FAIL load: ")) << not_elf.output;
    EXPECT_TRUE(has(not_elf.output, "not an ELF shared library")) << not_elf.output;

    EXPECT_EQ(check("").status, 2);
    EXPECT_EQ(check(test_plugin("ok") + " --config '[1]'").status, 2);
}

TEST(PluginCheck, ShowsTheDeclaredInput)
{
    const auto gray = check(quoted((test_plugins_dir() / "libprobe_gray.so").string()) + " --frames 10");
    EXPECT_TRUE(has(gray.output, "input        GRAY8, min 100x100")) << gray.output;
    const auto json = check(quoted((built_plugins_dir() / "libcolor_intensity.so").string()) + " --frames 10 --json");
    EXPECT_EQ(json.status, 0) << json.output;
    EXPECT_TRUE(has(json.output, "\"input\": \"GRAY8, min 64x64\"")) << json.output;
}

TEST(PluginCheck, ShowsDeclaredSchemasAndChecksConfigAndParamsAgainstThem)
{
    const auto plugin = quoted((test_plugins_dir() / "libparams_probe.so").string());
    auto run = check(plugin + " --frames 10 --config '{\"label\":\"x\"}' --params '{\"threshold\":12}'");
    EXPECT_EQ(run.status, 0) << run.output;
    EXPECT_TRUE(has(run.output, "ABI          1.2")) << run.output;
    EXPECT_TRUE(has(run.output, "parameters   {\"type\":\"object\",\"properties\":{\"threshold\"")) << run.output;
    EXPECT_TRUE(has(run.output, "configuration {\"type\":\"object\"")) << run.output;

    run = check(plugin + " --frames 10 --json");
    EXPECT_EQ(run.status, 0) << run.output;
    EXPECT_TRUE(has(run.output, "\"parametersSchema\": {")) << run.output;
    EXPECT_TRUE(has(run.output, "\"configurationSchema\": {")) << run.output;

    // Values the schema refuses: the host's message, as the host would answer, and the plugin is not run.
    run = check(plugin + " --frames 10 --params '{\"threshold\":\"abc\"}'");
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_TRUE(has(run.output, "FAIL parameters: --params {\"threshold\":\"abc\"}: parameter 'threshold': must be a "
                                "number between 0 and 255 (got \"abc\")"))
        << run.output;
    run = check(plugin + " --frames 10 --config '{\"colour\":1}'");
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_TRUE(has(run.output, "FAIL parameters: --config {\"colour\":1}: unknown parameter 'colour'")) << run.output;

    // A plugin without schemas says so.
    run = check(test_plugin("ok") + " --frames 10");
    EXPECT_TRUE(has(run.output, "parameters   not declared")) << run.output;
}

TEST(PluginCheck, FailsAPluginWhoseSchemaIsNotJsonSchema)
{
    const auto run = check(quoted((test_plugins_dir() / "libparams_bad.so").string()));
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_TRUE(has(run.output, "FAIL load: ")) << run.output;
    EXPECT_TRUE(has(run.output, "descriptor field 'parameters_schema': the schema is not a valid JSON Schema")) << run.output;
}

TEST(CheckConfig, FailsWhenAPluginInTheFolderIsRefused)
{
    const TempDir dir;
    std::filesystem::copy(built_plugins_dir() / "libcolor_intensity.so", dir.path() / "libcolor_intensity.so");
    std::ofstream(dir.path() / "config.json") << "{}";
    const std::vector<std::string> args{"--check-config", (dir.path() / "config.json").string(), "--plugins-dir",
                                        dir.path().string()};
    auto [status, output] = run_host_command(args);
    EXPECT_EQ(status, 0) << output;

    std::ofstream(dir.path() / "libtruncated.so") << "\x7f" "ELF and then nothing";
    std::tie(status, output) = run_host_command(args);
    EXPECT_NE(status, 0) << output;
    EXPECT_TRUE(has(output, "libtruncated.so: refused")) << output;
    EXPECT_TRUE(has(output, "invalid (a plugin was refused)")) << output;
}

} // namespace
} // namespace ava::test
