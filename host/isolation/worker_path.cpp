#include "worker_path.h"

#include <system_error>

namespace ava::isolation {

std::filesystem::path default_worker_executable()
{
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    std::filesystem::path candidates[] = {ec ? std::filesystem::path() : self.parent_path() / "ava-analyzer-worker",
                                          AVA_WORKER_INSTALLED_PATH, AVA_WORKER_BUILD_PATH};
    for (const auto& candidate : candidates) {
        if (!candidate.empty() && std::filesystem::is_regular_file(candidate, ec)) {
            return candidate;
        }
    }
    return {};
}

} // namespace ava::isolation
