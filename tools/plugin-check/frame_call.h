#pragma once
// FrameCall: one process() call as ava-plugin-check sees it. Its result sink checks every emit in the raw
// form the plugin gave it (boxes inside the frame, confidences in 0..1, valid UTF-8 — the host would
// silently clamp and repair these), then hands it to the host's own InferenceCollector, so what is collected
// is exactly what the host would answer. Once process() has returned the call is closed: any later emit
// through its sink is a failure (the plugin kept a sink it does not own). Closed calls are kept alive
// until the check ends (CallArchive), so such a late emit is caught instead of being a use after free.

#include "report.h"

#include "inferences/inference_collector.h"

#include <ava_plugin.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace ava::plugin_check {

class FrameCall {
public:
    FrameCall(std::string label, std::string analyzer, Report& report);
    FrameCall(const FrameCall&) = delete;
    FrameCall& operator=(const FrameCall&) = delete;

    const ava_result_sink& sink() const noexcept { return sink_; }
    // process() returned: closes the sink and gives what was collected. Throws AnswerTooLarge as the host's
    // collector does.
    inferences::InferenceList close();
    const std::string& last_rejection() const noexcept { return collector_.last_rejection(); }

private:
    static ava_status on_classification(void*, const ava_inference_meta*, const char*, float) noexcept;
    static ava_status on_entity(void*, const ava_inference_meta*, const char*, float, ava_box, const char*) noexcept;
    static ava_status on_motion(void*, const ava_inference_meta*, ava_box) noexcept;
    static ava_status on_event(void*, const ava_inference_meta*, const char*, const ava_key_value*, uint32_t) noexcept;
    static ava_status on_text(void*, const ava_inference_meta*, const char*, const char*, uint64_t, uint64_t) noexcept;
    static ava_status on_other(void*, const ava_inference_meta*, const char*, const void*, size_t) noexcept;

    // Checks one emit and, when the call is still open, forwards it to the host's collector.
    template <typename Check, typename Forward>
    ava_status emit(const char* kind, Check&& check, Forward&& forward) noexcept;
    void check_text(const char* text, const std::string& what);
    void check_box(const ava_box& box, const char* kind);
    void check_confidence(float confidence, const char* kind);
    void check_meta(const ava_inference_meta* meta, const char* kind);

    std::string label_;
    Report& report_;
    std::mutex mutex_; // a plugin may emit from several threads of its own within one call
    bool open_ = true;
    inferences::InferenceCollector collector_;
    ava_result_sink sink_{};
};

// Keeps every FrameCall of a check alive until the check ends. Thread-safe.
class CallArchive {
public:
    FrameCall& start(std::string label, std::string analyzer, Report& report);
    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::deque<std::unique_ptr<FrameCall>> calls_;
};

} // namespace ava::plugin_check
