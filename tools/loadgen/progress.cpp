#include "progress.h"

#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace ava::loadgen {

namespace {
constexpr double growth = 1.04; // bucket i holds latencies up to growth^i microseconds
}

std::size_t Progress::bucket_of(std::int64_t us) noexcept
{
    if (us <= 1) {
        return 0;
    }
    const auto i = static_cast<std::size_t>(std::ceil(std::log(static_cast<double>(us)) / std::log(growth)));
    return std::min(i, bucket_count - 1);
}

double Progress::upper_us(std::size_t bucket) noexcept { return std::pow(growth, static_cast<double>(bucket)); }

void Progress::acked(std::chrono::microseconds latency) noexcept
{
    buckets_[bucket_of(latency.count())].fetch_add(1, std::memory_order_relaxed);
    acks_.fetch_add(1, std::memory_order_relaxed);
}

double Progress::p99_ms() const noexcept
{
    std::uint64_t total = 0;
    for (const auto& bucket : buckets_) {
        total += bucket.load(std::memory_order_relaxed);
    }
    if (total == 0) {
        return 0;
    }
    const auto rank = static_cast<std::uint64_t>(std::ceil(0.99 * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        seen += buckets_[i].load(std::memory_order_relaxed);
        if (seen >= rank) {
            return upper_us(i) / 1000;
        }
    }
    return upper_us(bucket_count - 1) / 1000;
}

ProgressPrinter::ProgressPrinter(const Progress& progress, std::ostream& out)
    : thread_([&progress, &out](std::stop_token stop) {
          const auto start = std::chrono::steady_clock::now();
          auto last_time = start;
          std::uint64_t last_acks = 0;
          std::mutex mutex;
          std::condition_variable_any tick;
          for (auto next = start + std::chrono::seconds(1);; next += std::chrono::seconds(1)) {
              {
                  std::unique_lock lock(mutex);
                  tick.wait_until(lock, stop, next, [] { return false; }); // a second, or the run ending
                  if (stop.stop_requested()) {
                      return;
                  }
              }
              const auto now = std::chrono::steady_clock::now();
              const auto acks = progress.acks();
              const double fps = static_cast<double>(acks - last_acks) / std::chrono::duration<double>(now - last_time).count();
              char line[160];
              std::snprintf(line, sizeof line, "ava-loadgen: %6.1f s  %8.1f fps  %10llu acks  %6llu errors  p99 %.2f ms\n",
                            std::chrono::duration<double>(now - start).count(), fps,
                            static_cast<unsigned long long>(acks), static_cast<unsigned long long>(progress.errors()),
                            progress.p99_ms());
              out << line << std::flush;
              last_acks = acks;
              last_time = now;
          }
      })
{
}

} // namespace ava::loadgen
