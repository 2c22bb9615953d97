// ava-extension-host: serves analyzer plugins over the AVA HTTP and gRPC extension protocols.
#include "runtime/command_line.h"
#include "runtime/health_check.h"
#include "runtime/host.h"
#include "runtime/log_format.h"

#include <spdlog/spdlog.h>

#include <malloc.h>

#include <iostream>

namespace {

// glibc serves blocks over its (dynamic) mmap threshold with fresh mmaps and trims freed heap tops above
// twice that: every multi-megabyte frame buffer (an embedded 1080p sample is 6 MB) went back to the kernel
// and was faulted in again, page by page, for the next frame — 7x slower at one 1080p stream (bench/README).
// Fixed thresholds keep such buffers in the heap for reuse.
void keep_frame_buffers_in_the_heap()
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

} // namespace

int main(int argc, char* argv[])
{
    keep_frame_buffers_in_the_heap();
    // One format from the first line on, configuration errors included.
    ava::runtime::use_log_format(ava::runtime::log_format_argument(argc, argv));
    try {
        auto command_line = ava::runtime::parse_command_line(argc, argv);
        if (command_line.exit_message) {
            std::cout << *command_line.exit_message << "\n";
            return 0;
        }
        if (command_line.health_check_url) {
            std::string report;
            const int status = ava::runtime::health_check(*command_line.health_check_url, report);
            std::cout << *command_line.health_check_url << ": " << report << "\n";
            return status;
        }
        auto& options = command_line.options;
        spdlog::set_level(spdlog::level::from_str(options.log_level));
        ava::runtime::use_log_format(options.log_format); // the configuration file may say json
        ava::runtime::Host host(options);
        const auto refused = host.load();
        if (command_line.check_config_only) {
            // A plugin the host would refuse is a deployment error too, not only a bad file.
            for (const auto& reason : refused) {
                std::cout << reason << "\n";
            }
            std::cout << options.config_file->string() << (refused.empty() ? ": valid\n" : ": invalid (a plugin was refused)\n");
            return refused.empty() ? 0 : 1;
        }
        host.serve();
        spdlog::info("stopped");
        return 0;
    } catch (const ava::runtime::UsageError& e) {
        std::cerr << "ava-extension-host: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
}
