#include "shared_memory_mapping.h"

#include "frame.h"

#include "security/client_text.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <limits>
#include <utility>

namespace ava::frames {
namespace {

using Kind = SharedMemoryError::Kind;

void check_handle_name(std::string_view name)
{
    if (name.empty()) {
        throw SharedMemoryError(Kind::bad_request, "shared memory handle_name is empty");
    }
    if (name.size() > NAME_MAX) {
        throw SharedMemoryError(Kind::bad_request, "shared memory handle_name '" + security::client_text(name) + "' is " +
                                                       std::to_string(name.size()) + " bytes long: a file name under "
                                                       "/dev/shm has at most " + std::to_string(NAME_MAX));
    }
    if (name.find('/') != std::string_view::npos || name.find('\\') != std::string_view::npos) {
        throw SharedMemoryError(Kind::bad_request, "shared memory handle_name '" + security::client_text(name) +
                                                       "' contains a path separator: it must be a file name under /dev/shm");
    }
    if (name.find("..") != std::string_view::npos || name == ".") {
        throw SharedMemoryError(Kind::bad_request, "shared memory handle_name '" + security::client_text(name) +
                                                       "' contains '..': it must be a file name under /dev/shm");
    }
    if (name.find('\0') != std::string_view::npos) {
        throw SharedMemoryError(Kind::bad_request, "shared memory handle_name contains a NUL character");
    }
}

const char* file_type_of(mode_t mode)
{
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    if (S_ISCHR(mode)) {
        return "a character device";
    }
    if (S_ISBLK(mode)) {
        return "a block device";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    return "not a regular file";
}

} // namespace

SharedMemoryMapping SharedMemoryMapping::open(std::string_view handle_name, std::uint64_t length_bytes,
                                              const std::filesystem::path& folder)
{
    check_handle_name(handle_name);
    if (length_bytes == 0) {
        throw SharedMemoryError(Kind::bad_request, "shared memory length_bytes is 0");
    }
    if (length_bytes > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) {
        throw SharedMemoryError(Kind::bad_request,
                                "shared memory length_bytes " + std::to_string(length_bytes) + " is too large");
    }
    const auto path = folder / std::string(handle_name);
    const auto shown = (folder / security::client_text(handle_name)).string(); // the path as messages show it
    // Read-only: senders create the file for themselves and extensions often run as another, non-root
    // user, so asking for write access would fail with "permission denied". O_NOFOLLOW: a plain file only.
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    runtime::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) {
        const int error = errno;
        if (error == ENOENT) {
            throw SharedMemoryError(Kind::not_found,
                                    "shared memory file " + shown +
                                        " not found: do the containers share an IPC namespace? Run the pipeline "
                                        "module with IpcMode 'shareable' and this extension with IpcMode "
                                        "'container:<pipeline module>' (or both with 'host'); see README");
        }
        if (error == EACCES || error == EPERM) {
            throw SharedMemoryError(Kind::permission_denied,
                                    "shared memory file " + shown + ": permission denied: the extension (uid " +
                                        std::to_string(::geteuid()) +
                                        ") may not read it; run both containers as users that can read the sender's "
                                        "/dev/shm files");
        }
        if (error == ENAMETOOLONG) {
            throw SharedMemoryError(Kind::bad_request, "shared memory file " + shown + ": the name is too long");
        }
        if (error == ELOOP) {
            throw SharedMemoryError(Kind::bad_request, "shared memory file " + shown + " is a symbolic link");
        }
        throw SharedMemoryError(Kind::system, "cannot open shared memory file " + shown + ": " + std::strerror(error));
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        throw SharedMemoryError(Kind::system, "cannot stat shared memory file " + shown + ": " + std::strerror(errno));
    }
    if (!S_ISREG(info.st_mode)) {
        throw SharedMemoryError(Kind::bad_request, "shared memory handle " + shown + " is " + file_type_of(info.st_mode) +
                                                       ", not a regular file");
    }
    const auto file_size = static_cast<std::uint64_t>(info.st_size);
    // Mapping past the end of the file would turn reads there into SIGBUS: refuse instead.
    if (file_size < length_bytes) {
        throw SharedMemoryError(Kind::bad_request, "shared memory file " + shown + " is " + std::to_string(file_size) +
                                                       " bytes, shorter than the descriptor's length_bytes " +
                                                       std::to_string(length_bytes));
    }
    void* address = ::mmap(nullptr, static_cast<std::size_t>(length_bytes), PROT_READ, MAP_SHARED, fd.get(), 0);
    if (address == MAP_FAILED) {
        throw SharedMemoryError(Kind::system, "cannot map shared memory file " + shown + " (" +
                                                  std::to_string(length_bytes) + " bytes): " + std::strerror(errno));
    }
    try {
        GuardedRange guard(address, static_cast<std::size_t>(length_bytes));
        return SharedMemoryMapping(std::string(handle_name), address, length_bytes, std::move(guard), std::move(fd));
    } catch (...) {
        ::munmap(address, static_cast<std::size_t>(length_bytes));
        throw;
    }
}

SharedMemoryMapping::SharedMemoryMapping(SharedMemoryMapping&& other) noexcept
    : handle_name_(std::move(other.handle_name_)), address_(std::exchange(other.address_, nullptr)),
      size_(std::exchange(other.size_, 0)), guard_(std::move(other.guard_)), fd_(std::move(other.fd_)),
      broken_elsewhere_(other.broken_elsewhere_.load())
{
}

SharedMemoryMapping& SharedMemoryMapping::operator=(SharedMemoryMapping&& other) noexcept
{
    if (this != &other) {
        unmap();
        handle_name_ = std::move(other.handle_name_);
        address_ = std::exchange(other.address_, nullptr);
        size_ = std::exchange(other.size_, 0);
        guard_ = std::move(other.guard_);
        fd_ = std::move(other.fd_);
        broken_elsewhere_.store(other.broken_elsewhere_.load());
    }
    return *this;
}

SharedMemoryMapping::~SharedMemoryMapping() { unmap(); }

void SharedMemoryMapping::unmap() noexcept
{
    guard_.reset(); // first: once unmapped, the range may be reused by anyone
    if (address_ != nullptr) {
        ::munmap(const_cast<void*>(address_), static_cast<std::size_t>(size_));
        address_ = nullptr;
        size_ = 0;
    }
    fd_.reset();
}

std::span<const std::uint8_t> SharedMemoryMapping::slice(std::uint64_t offset, std::uint64_t length) const
{
    if (length == 0) {
        throw FrameError("content_reference length_bytes is 0");
    }
    // Written so that no addition can overflow: offset + length <= size.
    if (length > size_ || offset > size_ - length) {
        throw FrameError("content_reference [address_offset " + std::to_string(offset) + ", length_bytes " +
                         std::to_string(length) + "] lies outside the " + std::to_string(size_) +
                         "-byte shared memory buffer '" + security::client_text(handle_name_) + "'");
    }
    return {static_cast<const std::uint8_t*>(address_) + offset, static_cast<std::size_t>(length)};
}

} // namespace ava::frames
