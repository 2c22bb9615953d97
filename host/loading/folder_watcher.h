#pragma once
// FolderWatcher: reports the files of one folder that changed and then kept still for a settle time, and
// the files that went away. inotify through Boost.Asio.
//
// It watches the folder, not the files: deployments and editors replace a file by renaming another over
// it, and a watch on the file would follow the old inode. Each event only (re)starts the file's settle
// timer; a file is reported once its size, mtime and inode stayed the same for a whole settle period, so
// nobody acts on a file that is still being written. All callbacks run on the io_context's thread(s);
// the owner runs that io_context on one thread, so callbacks never overlap.

#include "file_stamp.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace ava::loading {

class FolderWatcher {
public:
    struct Callbacks {
        std::function<bool(const std::string& name)> wanted; // which file names to report
        std::function<void(const std::filesystem::path& file)> settled;  // exists and kept still
        std::function<void(const std::filesystem::path& file)> vanished; // no longer there
        std::function<void()> overflow; // the kernel dropped events: the owner should rescan
    };

    FolderWatcher(boost::asio::io_context& io, std::filesystem::path folder, Callbacks callbacks,
                  std::chrono::milliseconds settle_time);
    FolderWatcher(const FolderWatcher&) = delete;
    FolderWatcher& operator=(const FolderWatcher&) = delete;
    ~FolderWatcher();

    // Starts watching. Throws std::system_error when the folder cannot be watched (missing, no access).
    void start();

    const std::filesystem::path& folder() const noexcept { return folder_; }

private:
    struct Pending {
        explicit Pending(boost::asio::io_context& io) : timer(io) {}
        boost::asio::steady_timer timer;
        std::chrono::steady_clock::time_point due;
        std::optional<FileStamp> stamp; // as seen when the last settle period began
    };

    void read_events();
    void handle_events(std::size_t bytes);
    void touched(const std::string& name);
    void arm(const std::string& name, Pending& pending);
    void check(const std::string& name);

    boost::asio::io_context& io_;
    std::filesystem::path folder_;
    Callbacks callbacks_;
    std::chrono::milliseconds settle_time_;
    boost::asio::posix::stream_descriptor inotify_;
    alignas(8) std::array<char, 16384> buffer_{};
    std::map<std::string, std::unique_ptr<Pending>> pending_;
};

} // namespace ava::loading
