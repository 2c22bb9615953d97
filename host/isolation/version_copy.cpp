#include "version_copy.h"

#include "loading/plugin_library.h"

namespace ava::isolation {

VersionCopy::VersionCopy(const std::filesystem::path& file, const std::filesystem::path& shadow_dir)
    : path_(loading::unique_copy_name(file, shadow_dir))
{
    std::filesystem::create_directories(shadow_dir);
    loading::copy_plugin_file(file, path_, file.string());
}

VersionCopy::~VersionCopy()
{
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
}

} // namespace ava::isolation
