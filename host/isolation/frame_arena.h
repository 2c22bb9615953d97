#pragma once
// FrameArena: the shared memory a host places frames in for one analyzer worker process (a memfd the
// worker maps read-only), so pixels reach the worker without passing through its socket. The allocator's
// bookkeeping lives in the host's own memory, never in the shared pages, so nothing a worker does can
// corrupt it. First fit from the lowest offset keeps the pages in use few and warm.

#include "runtime/unique_fd.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace ava::isolation {

class FrameArena {
public:
    class Block {
    public:
        Block(Block&& other) noexcept
            : arena_(std::exchange(other.arena_, nullptr)), offset_(other.offset_), size_(other.size_)
        {
        }
        Block& operator=(Block&& other) noexcept
        {
            if (this != &other) {
                if (arena_ != nullptr) {
                    arena_->release(offset_, size_);
                }
                arena_ = std::exchange(other.arena_, nullptr);
                offset_ = other.offset_;
                size_ = other.size_;
            }
            return *this;
        }
        Block(const Block&) = delete;
        ~Block()
        {
            if (arena_ != nullptr) {
                arena_->release(offset_, size_);
            }
        }
        std::uint8_t* data() const noexcept { return arena_->base_ + offset_; }
        std::size_t offset() const noexcept { return offset_; }

    private:
        friend class FrameArena;
        Block(FrameArena* arena, std::size_t offset, std::size_t size) : arena_(arena), offset_(offset), size_(size) {}
        FrameArena* arena_;
        std::size_t offset_;
        std::size_t size_;
    };

    // Throws std::system_error when the memfd cannot be made or mapped.
    explicit FrameArena(std::size_t bytes);
    FrameArena(const FrameArena&) = delete;
    FrameArena& operator=(const FrameArena&) = delete;
    ~FrameArena();

    // nullopt when no free range is large enough now.
    std::optional<Block> allocate(std::size_t bytes);

    int fd() const noexcept { return fd_.get(); }
    std::size_t size() const noexcept { return size_; }

private:
    void release(std::size_t offset, std::size_t size);

    runtime::UniqueFd fd_;
    std::uint8_t* base_ = nullptr;
    std::size_t size_;
    std::mutex mutex_;
    std::map<std::size_t, std::size_t> free_; // offset -> size, coalesced
};

} // namespace ava::isolation
