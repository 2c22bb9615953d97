#pragma once
// FileStamp: what tells one version of a file from another without reading it.

#include <cstdint>
#include <filesystem>
#include <optional>

namespace ava::loading {

struct FileStamp {
    std::uintmax_t size = 0;
    std::filesystem::file_time_type modified;
    std::uintmax_t inode = 0; // a file renamed into place is another inode, even with the same size and mtime
    bool operator==(const FileStamp&) const = default;
};

// The stamp of `file` now (following symlinks), or nullopt when it is not a regular file.
std::optional<FileStamp> stamp_of(const std::filesystem::path& file);

} // namespace ava::loading
