#pragma once
// InferenceCollector: the host side of ava_result_sink. Copies what a plugin emits into Inference values,
// refusing values that would break the published schema (NaN, blank subtype), clamping boxes and
// confidences into 0..1 and repairing invalid UTF-8 (utf8.h: each invalid sequence becomes U+FFFD), so
// every front-end can write what it collects without re-checking.
//
// One collector serves one frame, and its answer is capped (max_answer_bytes): an emit that would take
// the answer over the cap is refused with AVA_STATUS_OUT_OF_MEMORY, so are all later ones, and take()
// then throws AnswerTooLarge: the frame ends as the analyzer's failure instead of a giant body.

#include "inference.h"

#include <ava_plugin.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ava::inferences {

// Largest answer collected for one frame: the bytes of every string and content emitted, plus
// per_inference_bytes for each inference (so a flood of empty ones is capped too). 4 MiB is far beyond
// any real answer (a few hundred detections) and small next to the host's frame budget. The JSON body
// can be larger than what is counted (escapes, base64 of `other` content): at most 6 times, for text made
// only of control characters.
inline constexpr std::size_t max_answer_bytes = std::size_t{4} << 20;
inline constexpr std::size_t per_inference_bytes = 64;

// The analyzer's answer went over max_answer_bytes: the analyzer's fault (HTTP 500, gRPC INTERNAL).
class AnswerTooLarge : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class InferenceCollector {
public:
    // `analyzer` names the source in log lines.
    explicit InferenceCollector(std::string_view analyzer = "analyzer", std::size_t max_bytes = max_answer_bytes);
    InferenceCollector(const InferenceCollector&) = delete;
    InferenceCollector& operator=(const InferenceCollector&) = delete;

    const ava_result_sink& sink() const noexcept { return sink_; }
    // The collected answer. Throws AnswerTooLarge (saying so) when an emit went over the cap.
    InferenceList take();
    const InferenceList& inferences() const noexcept { return inferences_; }
    // Frees what was collected, keeping the verdicts (last_rejection, over_cap): for a collector kept alive
    // after its frame only to refuse late emits (isolation/result_log.h).
    void discard() noexcept { InferenceList().swap(inferences_); }

    // Why the last emit was refused (empty when none was): logged by the caller.
    const std::string& last_rejection() const noexcept { return last_rejection_; }
    // An emit was refused for taking the answer over the cap: the frame must fail.
    bool over_cap() const noexcept { return over_cap_; }
    std::size_t answer_bytes() const noexcept { return answer_bytes_; }
    // Invalid UTF-8 sequences replaced with U+FFFD so far.
    std::size_t utf8_replacements() const noexcept { return utf8_replacements_; }

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
    std::string analyzer_;
    std::size_t max_bytes_;
    InferenceList inferences_;
    std::string last_rejection_;
    std::size_t answer_bytes_ = 0;
    std::size_t utf8_replacements_ = 0;
    bool over_cap_ = false;
};

} // namespace ava::inferences
