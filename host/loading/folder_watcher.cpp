#include "folder_watcher.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <sys/inotify.h>
#include <system_error>

namespace ava::loading {

FolderWatcher::FolderWatcher(boost::asio::io_context& io, std::filesystem::path folder, Callbacks callbacks,
                             std::chrono::milliseconds settle_time)
    : io_(io), folder_(std::move(folder)), callbacks_(std::move(callbacks)), settle_time_(settle_time), inotify_(io)
{
}

// Pending handlers capture `this`: the owner destroys a watcher only once its io_context stopped running.
FolderWatcher::~FolderWatcher() = default;

void FolderWatcher::start()
{
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "inotify_init1");
    }
    inotify_.assign(fd); // owns the descriptor from here
    constexpr std::uint32_t events = IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
                                     IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
    if (::inotify_add_watch(fd, folder_.c_str(), events) < 0) {
        const int error = errno;
        inotify_.close();
        throw std::system_error(error, std::generic_category(), "cannot watch " + folder_.string());
    }
    read_events();
}

void FolderWatcher::read_events()
{
    inotify_.async_read_some(boost::asio::buffer(buffer_), [this](const boost::system::error_code& ec, std::size_t bytes) {
        if (ec == boost::asio::error::operation_aborted) {
            return;
        }
        if (ec) {
            spdlog::error("watching {} failed: {}; changes there are no longer noticed", folder_.string(), ec.message());
            return;
        }
        handle_events(bytes);
        read_events();
    });
}

void FolderWatcher::handle_events(std::size_t bytes)
{
    std::size_t offset = 0;
    while (offset + sizeof(inotify_event) <= bytes) {
        inotify_event event{};
        std::memcpy(&event, buffer_.data() + offset, sizeof event); // the buffer holds packed, variable-size records
        const char* name_start = buffer_.data() + offset + sizeof event;
        offset += sizeof event + event.len;
        if ((event.mask & IN_Q_OVERFLOW) != 0) {
            spdlog::warn("too many changes in {} at once: rescanning it", folder_.string());
            if (callbacks_.overflow) {
                callbacks_.overflow();
            }
            continue;
        }
        if ((event.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
            spdlog::warn("{} was removed or moved: changes there are no longer noticed", folder_.string());
            continue;
        }
        if (event.len == 0 || (event.mask & IN_ISDIR) != 0) {
            continue;
        }
        const std::string name(name_start, ::strnlen(name_start, event.len));
        if (callbacks_.wanted(name)) {
            touched(name);
        }
    }
}

void FolderWatcher::touched(const std::string& name)
{
    auto& pending = pending_[name];
    if (!pending) {
        pending = std::make_unique<Pending>(io_);
    }
    pending->stamp = stamp_of(folder_ / name);
    arm(name, *pending);
}

void FolderWatcher::arm(const std::string& name, Pending& pending)
{
    pending.due = std::chrono::steady_clock::now() + settle_time_;
    pending.timer.expires_at(pending.due);
    pending.timer.async_wait([this, name](const boost::system::error_code& ec) {
        if (!ec) {
            check(name);
        }
    });
}

void FolderWatcher::check(const std::string& name)
{
    const auto it = pending_.find(name);
    // A later event re-armed the timer after this wait had already completed: that wait decides.
    if (it == pending_.end() || std::chrono::steady_clock::now() < it->second->due) {
        return;
    }
    const auto file = folder_ / name;
    const auto now = stamp_of(file);
    if (now && now != it->second->stamp) {
        // Still changing (or changed without an event we saw): give it another settle period.
        it->second->stamp = now;
        return arm(name, *it->second);
    }
    pending_.erase(it);
    if (now) {
        callbacks_.settled(file);
    } else {
        callbacks_.vanished(file);
    }
}

} // namespace ava::loading
