// ava-extension-host: serves analyzer plugins over the AVA HTTP and gRPC extension protocols.
#include "runtime/command_line.h"
#include "runtime/host.h"

#include <spdlog/spdlog.h>

#include <iostream>

int main(int argc, char* argv[])
{
    try {
        auto command_line = ava::runtime::parse_command_line(argc, argv);
        if (command_line.exit_message) {
            std::cout << *command_line.exit_message << "\n";
            return 0;
        }
        auto& options = command_line.options;
        spdlog::set_level(spdlog::level::from_str(options.log_level));
        spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");
        ava::runtime::Host host(options);
        host.load();
        if (command_line.check_config_only) {
            std::cout << options.config_file->string() << ": valid\n";
            return 0;
        }
        host.serve();
        spdlog::info("stopped");
        return 0;
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
}
