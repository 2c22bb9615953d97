#include "file_stamp.h"

#include <sys/stat.h>

namespace ava::loading {

std::optional<FileStamp> stamp_of(const std::filesystem::path& file)
{
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
        return std::nullopt;
    }
    std::error_code ec;
    const auto modified = std::filesystem::last_write_time(file, ec);
    if (ec) {
        return std::nullopt;
    }
    return FileStamp{static_cast<std::uintmax_t>(info.st_size), modified, static_cast<std::uintmax_t>(info.st_ino)};
}

} // namespace ava::loading
