#pragma once

#include <filesystem>

namespace ava::isolation {

// The analyzer worker executable: next to the running program (a build tree, or a custom install), else
// the installed one, else this build tree's. Empty when none exists.
std::filesystem::path default_worker_executable();

} // namespace ava::isolation
