#pragma once
// InferenceCollector: the host side of ava_result_sink. Copies what a plugin emits into Inference values,
// refusing values that would break the published schema (NaN, blank subtype) and clamping boxes and
// confidences into 0..1, so every front-end can write what it collects without re-checking.

#include "inference.h"

#include <ava_plugin.h>

#include <string>

namespace ava::inferences {

class InferenceCollector {
public:
    InferenceCollector();
    InferenceCollector(const InferenceCollector&) = delete;
    InferenceCollector& operator=(const InferenceCollector&) = delete;

    const ava_result_sink& sink() const noexcept { return sink_; }
    InferenceList take() { return std::move(inferences_); }
    const InferenceList& inferences() const noexcept { return inferences_; }

    // Why the last emit was refused (empty when none was): logged by the caller.
    const std::string& last_rejection() const noexcept { return last_rejection_; }

private:
    static ava_status on_classification(void*, const ava_inference_meta*, const char*, float) noexcept;
    static ava_status on_entity(void*, const ava_inference_meta*, const char*, float, ava_box, const char*) noexcept;
    static ava_status on_motion(void*, const ava_inference_meta*, ava_box) noexcept;
    static ava_status on_event(void*, const ava_inference_meta*, const char*, const ava_key_value*, uint32_t) noexcept;
    static ava_status on_text(void*, const ava_inference_meta*, const char*, const char*, uint64_t, uint64_t) noexcept;
    static ava_status on_other(void*, const ava_inference_meta*, const char*, const void*, size_t) noexcept;

    template <typename Build>
    ava_status add(const ava_inference_meta* meta, Build&& build) noexcept;

    ava_result_sink sink_{};
    InferenceList inferences_;
    std::string last_rejection_;
};

} // namespace ava::inferences
