#pragma once
// FrameWorkers: the fixed pool of threads that decode and analyse frames for both front-ends, with an
// admission limit. Front-ends ask for a Ticket before queueing work; no ticket means "overloaded" (HTTP
// answers 503 + Retry-After, gRPC stops reading until a ticket frees), so queues never grow unbounded.
// Alongside the frame count, memory() caps the frame bytes in flight (received and decoded) across both.

#include "memory_budget.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstddef>
#include <optional>
#include <utility>

namespace ava::runtime {

class FrameWorkers {
public:
    class Ticket {
    public:
        Ticket(Ticket&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
        Ticket& operator=(Ticket&&) = delete;
        Ticket(const Ticket&) = delete;
        ~Ticket()
        {
            if (owner_ != nullptr) {
                owner_->in_flight_.fetch_sub(1, std::memory_order_release);
            }
        }

    private:
        friend class FrameWorkers;
        explicit Ticket(FrameWorkers* owner) : owner_(owner) {}
        FrameWorkers* owner_;
    };

    FrameWorkers(std::size_t threads, std::size_t max_in_flight, std::size_t max_bytes_in_flight)
        : pool_(threads), max_in_flight_(max_in_flight), memory_(max_bytes_in_flight)
    {
    }
    FrameWorkers(const FrameWorkers&) = delete;
    FrameWorkers& operator=(const FrameWorkers&) = delete;
    ~FrameWorkers() { pool_.join(); }

    std::optional<Ticket> try_admit()
    {
        if (in_flight_.fetch_add(1, std::memory_order_acquire) >= max_in_flight_) {
            in_flight_.fetch_sub(1, std::memory_order_release);
            return std::nullopt;
        }
        return Ticket(this);
    }

    // Counted as queued until a thread picks it up: the queue depth an operator sees in /metrics.
    template <typename Work>
    void post(Work&& work)
    {
        queued_.fetch_add(1, std::memory_order_relaxed);
        boost::asio::post(pool_, [this, work = std::forward<Work>(work)]() mutable {
            queued_.fetch_sub(1, std::memory_order_relaxed);
            work();
        });
    }

    std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
    std::size_t max_in_flight() const noexcept { return max_in_flight_; }
    std::size_t queued() const noexcept { return queued_.load(std::memory_order_relaxed); }
    MemoryBudget& memory() noexcept { return memory_; }
    void join() { pool_.join(); }

private:
    boost::asio::thread_pool pool_;
    std::size_t max_in_flight_;
    std::atomic<std::size_t> in_flight_{0};
    std::atomic<std::size_t> queued_{0};
    MemoryBudget memory_;
};

} // namespace ava::runtime
