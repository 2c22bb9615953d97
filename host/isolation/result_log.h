#pragma once
// A plugin's result-sink calls, recorded in the worker process and replayed in the host: the worker's sink
// writes each call (kind, meta, arguments) into a flat log; the host replays the log through its own
// InferenceCollector, so every inference from an isolated plugin passes exactly the checks an in-process
// plugin's does (schema, UTF-8 repair, answer cap). The log is hostile input to the host: replay() checks
// every length and throws WireError on anything malformed.

#include "wire.h"

#include "inferences/inference_collector.h"

#include <ava_plugin.h>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

namespace ava::isolation {

// Worker side. One per process() call. Each call first goes through a real InferenceCollector, so the
// plugin gets exactly the answer an in-process plugin gets (a blank subtype refused, the answer cap), and
// only what it accepted is recorded. Calls after close() (a plugin emitting from another thread after
// process returned) are refused and counted instead of recorded.
class RecordingSink {
public:
    explicit RecordingSink(std::string_view analyzer);
    RecordingSink(const RecordingSink&) = delete;
    RecordingSink& operator=(const RecordingSink&) = delete;

    const ava_result_sink& sink() const noexcept { return sink_; }
    // Stops recording; returns the log.
    std::string close();
    // The collector's verdicts, for the reply: why an emit was last refused, and (when the answer went over
    // its cap) the message of the AnswerTooLarge the frame ends with.
    std::string last_rejection() const;
    std::string too_large() const;
    std::size_t take_late_calls() noexcept { return late_calls_.exchange(0); }

private:
    template <typename Forward, typename Record>
    ava_status record(std::uint8_t kind, const ava_inference_meta* meta, Forward&& forward, Record&& fields) noexcept;

    ava_result_sink sink_{};
    inferences::InferenceCollector collector_;
    bool over_cap_ = false;
    mutable std::mutex mutex_; // a plugin may emit from threads of its own while process() runs
    Writer log_;
    bool open_ = true;
    std::atomic<std::size_t> late_calls_{0};
};

// Host side: calls `sink` once per recorded call. Returns the number of calls. Throws WireError.
std::size_t replay(std::string_view log, const ava_result_sink& sink);

} // namespace ava::isolation
