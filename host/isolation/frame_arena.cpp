#include "frame_arena.h"

#include <sys/mman.h>

#include <cerrno>
#include <system_error>

namespace ava::isolation {
namespace {

constexpr std::size_t alignment = 64; // a cache line: rows start aligned as a decoder's would

std::size_t aligned(std::size_t n) { return (n + alignment - 1) & ~(alignment - 1); }

} // namespace

FrameArena::FrameArena(std::size_t bytes) : size_(aligned(bytes))
{
    fd_.reset(::memfd_create("ava-frame-arena", MFD_CLOEXEC));
    if (!fd_.valid() || ::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {
        throw std::system_error(errno, std::generic_category(), "frame arena memfd");
    }
    void* base = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (base == MAP_FAILED) {
        throw std::system_error(errno, std::generic_category(), "frame arena mmap");
    }
    base_ = static_cast<std::uint8_t*>(base);
    free_.emplace(0, size_);
}

FrameArena::~FrameArena() { ::munmap(base_, size_); }

std::optional<FrameArena::Block> FrameArena::allocate(std::size_t bytes)
{
    const auto wanted = aligned(bytes == 0 ? 1 : bytes);
    std::lock_guard lock(mutex_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
        if (it->second >= wanted) {
            const auto offset = it->first;
            const auto rest = it->second - wanted;
            free_.erase(it);
            if (rest != 0) {
                free_.emplace(offset + wanted, rest);
            }
            return Block(this, offset, wanted);
        }
    }
    return std::nullopt;
}

void FrameArena::release(std::size_t offset, std::size_t size)
{
    std::lock_guard lock(mutex_);
    auto next = free_.lower_bound(offset);
    if (next != free_.end() && offset + size == next->first) { // merge with the range after
        size += next->second;
        next = free_.erase(next);
    }
    if (next != free_.begin()) { // merge with the range before
        const auto previous = std::prev(next);
        if (previous->first + previous->second == offset) {
            previous->second += size;
            return;
        }
    }
    free_.emplace(offset, size);
}

} // namespace ava::isolation
