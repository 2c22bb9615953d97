#pragma once
// VersionCopy: the bytes of one loaded plugin version, copied into the shadow folder when it is loaded and
// removed with it. Every worker of the version loads this copy, not the file in the plugins folder, so a
// worker restarted after a crash runs the same code even when the folder holds a newer or a broken file by
// then (which hot reload loads, or refuses, as a version of its own while this one keeps serving).

#include <filesystem>

namespace ava::isolation {

class VersionCopy {
public:
    // Copies `file`; throws loading::PluginLoadError (naming `file`) when it cannot, or when the file
    // changed while being copied.
    VersionCopy(const std::filesystem::path& file, const std::filesystem::path& shadow_dir);
    VersionCopy(const VersionCopy&) = delete;
    VersionCopy& operator=(const VersionCopy&) = delete;
    ~VersionCopy();

    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

} // namespace ava::isolation
