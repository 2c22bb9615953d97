// A pool of objects that are expensive to make and not safe to share between threads (a cv::dnn::Net, a
// cv::CascadeClassifier): each concurrent process() call leases its own, and returns it when done. This is
// what lets an analyzer declare AVA_CONCURRENCY_FULL without a lock around inference.
#ifndef AVA_COMMON_POOL_HPP
#define AVA_COMMON_POOL_HPP

#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace ava::common {

template <typename T>
class Pool {
public:
    using Factory = std::function<std::unique_ptr<T>()>;

    // Makes one object at once, so a factory that fails (missing model file) fails at construction.
    explicit Pool(Factory factory) : factory_(std::move(factory)) { idle_.push_back(factory_()); }

    class Lease {
    public:
        Lease(Pool& pool, std::unique_ptr<T> item) : pool_(&pool), item_(std::move(item)) {}
        Lease(Lease&& other) noexcept = default;
        Lease& operator=(Lease&&) = delete;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease()
        {
            if (item_) {
                pool_->release(std::move(item_));
            }
        }
        T& operator*() const noexcept { return *item_; }
        T* operator->() const noexcept { return item_.get(); }

    private:
        Pool* pool_;
        std::unique_ptr<T> item_;
    };

    // An idle object, or a new one when all are in use (the pool grows to the peak concurrency).
    Lease acquire()
    {
        {
            const std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                auto item = std::move(idle_.back());
                idle_.pop_back();
                return Lease(*this, std::move(item));
            }
        }
        return Lease(*this, factory_());
    }

private:
    void release(std::unique_ptr<T> item) noexcept
    {
        try {
            const std::lock_guard lock(mutex_);
            idle_.push_back(std::move(item));
        } catch (...) {
            // Could not keep it (out of memory): dropping it is safe, a later acquire makes another.
        }
    }

    Factory factory_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<T>> idle_;
};

} // namespace ava::common

#endif
