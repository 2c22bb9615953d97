#include "shared_memory_ring.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace ava::loadgen {
namespace {

std::system_error os_error(const std::string& what) { return {errno, std::generic_category(), what}; }

} // namespace

SharedMemoryRing::SharedMemoryRing(std::string handle_name, std::size_t slots, std::size_t slot_bytes,
                                   std::span<const std::uint8_t> frame)
    : name_(std::move(handle_name)), slot_bytes_(slot_bytes), size_(static_cast<std::uint64_t>(slots) * slot_bytes),
      taken_(slots, false)
{
    if (slots == 0 || slot_bytes < frame.size()) {
        throw std::invalid_argument("shared-memory ring needs at least one slot as large as the frame");
    }
    const std::string path = "/dev/shm/" + name_;
    // 0644: the receiver opens read-only and may run as another user.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw os_error("cannot create " + path);
    }
    ::fchmod(fd, 0644); // umask must not narrow it
    if (::ftruncate(fd, static_cast<off_t>(size_)) != 0) {
        const auto error = os_error("cannot size " + path);
        ::close(fd);
        ::unlink(path.c_str());
        throw error;
    }
    void* mapped = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (mapped == MAP_FAILED) {
        const auto error = os_error("cannot map " + path);
        ::unlink(path.c_str());
        throw error;
    }
    base_ = static_cast<std::uint8_t*>(mapped);
    free_.reserve(slots);
    for (std::size_t i = slots; i-- > 0;) {
        write(static_cast<int>(i), frame);
        free_.push_back(static_cast<int>(i));
    }
}

SharedMemoryRing::~SharedMemoryRing()
{
    ::munmap(base_, size_);
    ::unlink(("/dev/shm/" + name_).c_str());
}

int SharedMemoryRing::acquire()
{
    if (free_.empty()) {
        return -1;
    }
    const int slot = free_.back();
    free_.pop_back();
    taken_[static_cast<std::size_t>(slot)] = true;
    return slot;
}

void SharedMemoryRing::release(int slot)
{
    const auto index = static_cast<std::size_t>(slot);
    if (index >= taken_.size() || !taken_[index]) {
        throw std::logic_error("shared-memory slot released twice");
    }
    taken_[index] = false;
    free_.push_back(slot);
}

void SharedMemoryRing::write(int slot, std::span<const std::uint8_t> frame)
{
    std::memcpy(base_ + offset_of(slot), frame.data(), frame.size());
}

} // namespace ava::loadgen
