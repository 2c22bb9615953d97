// Fuzz target: the configuration file parser (host/runtime/config_file.h): apply_config_file() on fuzzed
// bytes (a memfd, read through /proc/self/fd/N), then validate(), check_route_analyzers() and a Router over
// the routes it produced. Checks: only ConfigError leaves the parser; a configuration it accepts routes.
// A better seam: apply_config_text(std::string_view text, std::string_view name, HostOptions&), with
// apply_config_file() reading the file and calling it; then no file is needed.
#include "common/fuzz_env.h"

#include "runtime/config_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto& env = ava::fuzz::environment();
    static const int fd = ::memfd_create("ava-fuzz-config.json", MFD_CLOEXEC);
    static const std::filesystem::path path = "/proc/self/fd/" + std::to_string(fd);
    if (fd < 0 || ::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
        std::abort();
    }
    ava::runtime::HostOptions options;
    try {
        ava::runtime::apply_config_file(path, options);
        ava::runtime::validate(options);
        ava::runtime::check_route_analyzers(options, env.registry.names());
    } catch (const ava::runtime::ConfigError&) {
        return 0;
    }
    // Accepted: the routes must resolve like the host would resolve them.
    ava::routing::Router router(env.registry, options.routes);
    (void)router.http_paths();
    for (const auto& route : options.routes.routes) {
        try {
            if (route.http_path) {
                (void)router.resolve_http(*route.http_path, "", route.pipeline.value_or(""));
            }
            if (route.extension_configuration) {
                (void)router.resolve_grpc(*route.extension_configuration, route.pipeline.value_or(""));
            }
        } catch (const ava::routing::RouteError&) {
        }
    }
    return 0;
}
