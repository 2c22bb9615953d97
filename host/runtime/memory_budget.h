#pragma once
// MemoryBudget: the host-wide cap on frame bytes in flight (limits.maxFrameBytesInFlight). Received bodies
// and messages, and decoded pixels, each hold a Reservation while they exist, so many clients together
// cannot make the host allocate more than the budget, whatever each of them sends.
//
// A reservation that does not fit is refused, except when nothing else is reserved: one frame under the
// per-request limits must always be able to pass, or a budget smaller than one big frame would wedge it.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <utility>

namespace ava::runtime {

class MemoryBudget {
public:
    class Reservation {
    public:
        Reservation() = default;
        Reservation(Reservation&& other) noexcept
            : owner_(std::exchange(other.owner_, nullptr)), bytes_(std::exchange(other.bytes_, 0))
        {
        }
        Reservation& operator=(Reservation&& other) noexcept
        {
            if (this != &other) {
                release();
                owner_ = std::exchange(other.owner_, nullptr);
                bytes_ = std::exchange(other.bytes_, 0);
            }
            return *this;
        }
        Reservation(const Reservation&) = delete;
        Reservation& operator=(const Reservation&) = delete;
        ~Reservation() { release(); }

        std::size_t bytes() const noexcept { return bytes_; }
        void release() noexcept
        {
            if (owner_ != nullptr) {
                owner_->give_back(bytes_);
                owner_ = nullptr;
                bytes_ = 0;
            }
        }

    private:
        friend class MemoryBudget;
        Reservation(MemoryBudget* owner, std::size_t bytes) noexcept : owner_(owner), bytes_(bytes) {}
        MemoryBudget* owner_ = nullptr;
        std::size_t bytes_ = 0;
    };

    explicit MemoryBudget(std::size_t limit_bytes) : limit_(limit_bytes) {}
    MemoryBudget(const MemoryBudget&) = delete;
    MemoryBudget& operator=(const MemoryBudget&) = delete;

    // Never blocks: for I/O threads.
    std::optional<Reservation> try_reserve(std::size_t bytes)
    {
        const std::scoped_lock lock(mutex_);
        return take(bytes);
    }

    // Waits up to `patience` for room: for worker threads, whose frames free the budget as they finish.
    std::optional<Reservation> reserve_within(std::size_t bytes, std::chrono::milliseconds patience)
    {
        std::unique_lock lock(mutex_);
        freed_.wait_for(lock, patience, [&] { return fits(bytes); });
        return take(bytes);
    }

    std::size_t limit() const noexcept { return limit_; }
    std::size_t in_use() const
    {
        const std::scoped_lock lock(mutex_);
        return in_use_;
    }

private:
    bool fits(std::size_t bytes) const noexcept { return in_use_ == 0 || bytes <= limit_ - std::min(in_use_, limit_); }

    std::optional<Reservation> take(std::size_t bytes)
    {
        if (!fits(bytes)) {
            return std::nullopt;
        }
        in_use_ += bytes;
        return Reservation(this, bytes);
    }

    void give_back(std::size_t bytes) noexcept
    {
        {
            const std::scoped_lock lock(mutex_);
            in_use_ -= bytes;
        }
        freed_.notify_all();
    }

    const std::size_t limit_;
    mutable std::mutex mutex_;
    std::condition_variable freed_;
    std::size_t in_use_ = 0;
};

// The default budget: an eighth of the machine's memory, at least 256 MiB and at most 2 GiB.
std::size_t default_frame_bytes_in_flight();
// The machine's memory, or the cgroup's limit when lower.
std::size_t machine_memory();
// The default memory limit of one analyzer worker process: half the machine, at least 512 MiB. It stops a
// runaway plugin long before the machine swaps, and leaves room for any real model.
std::size_t default_plugin_memory_bytes();

} // namespace ava::runtime
