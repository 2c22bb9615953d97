// ava-loadgen: plays the video pipeline's side of the AVA gRPC or HTTP extension protocol against a
// running host, measures throughput, latency and the host's CPU per frame, and checks every answer.
// Exit status: 0 when every frame was acknowledged correctly, 1 on any loss or mismatch or when any stream
// got no acknowledgement at all (named on stderr and in the report), 2 on bad usage.

#include "frame_payload.h"
#include "grpc_load.h"
#include "http_load.h"
#include "load_options.h"
#include "process_stats.h"
#include "progress.h"
#include "report.h"
#include "run_plan.h"

#include <unistd.h>

#include <exception>
#include <future>
#include <iostream>
#include <thread>

namespace {

using namespace ava::loadgen;

int run(const LoadOptions& options)
{
    const FramePayload payload = make_payload(options);
    Progress progress;
    RunPlan plan = RunPlan::from(options, Clock::now());
    plan.progress = &progress;
    std::optional<ProgressPrinter> printer;
    if (!options.quiet) {
        printer.emplace(progress, std::cerr);
    }
    RunReport report(options);
    report.frame_bytes = payload.bytes.size();

    auto load = std::async(std::launch::async, [&] {
        return options.protocol == Protocol::grpc ? run_grpc_load(options, payload, plan)
                                                  : run_http_load(options, payload, plan);
    });
    // Sample the host's CPU (and our own) at the edges of the measure window, from this idle thread.
    const pid_t self = ::getpid();
    std::optional<ProcessSample> self_before;
    std::optional<ProcessSample> self_after;
    if (load.wait_until(plan.window.start) == std::future_status::timeout) {
        self_before = sample_process(self);
        if (options.host_pid != 0) {
            report.host_before = sample_process(options.host_pid);
        }
    }
    if (plan.stop_at && load.wait_until(*plan.stop_at) == std::future_status::timeout) {
        self_after = sample_process(self);
        if (options.host_pid != 0) {
            report.host_after = sample_process(options.host_pid);
        }
    }
    report.stats = load.get();
    printer.reset();
    if (!self_after) {
        self_after = sample_process(self);
    }
    if (options.host_pid != 0 && !report.host_after) {
        report.host_after = sample_process(options.host_pid);
    }
    if (self_before && self_after) {
        report.self_cpu_seconds = self_after->cpu_seconds - self_before->cpu_seconds;
    }
    const auto end = std::min(plan.window.end, report.stats.last_measured_ack);
    report.measured_seconds = end > plan.window.start ? std::chrono::duration<double>(end - plan.window.start).count() : 0;

    if (const auto silent = silent_streams_summary(report); !silent.empty()) {
        // A pipeline that never got an answer fails the run, however well the others did: say which.
        std::cerr << "ava-loadgen: " << silent << '\n';
    }
    if (options.json) {
        print_json(std::cout, report);
    } else {
        print_table(std::cout, report);
    }
    return report.clean() ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    std::optional<LoadOptions> options;
    try {
        options = parse_options(argc, argv);
        if (!options) {
            return 0;
        }
    } catch (const std::exception& e) {
        std::cerr << "ava-loadgen: " << e.what() << " (see --help)\n";
        return 2;
    }
    try {
        return run(*options);
    } catch (const std::exception& e) {
        std::cerr << "ava-loadgen: " << e.what() << '\n';
        return 1;
    }
}
