#include "inference_collector.h"

#include "utf8.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <stdexcept>

namespace ava::inferences {
namespace {

// Thrown inside add() to refuse one emit; never crosses the C boundary.
struct Rejected : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// Refuses an emit that would take the answer over the cap.
struct OverCap : std::length_error {
    using std::length_error::length_error;
};

// What one emit copies from the plugin: every byte counted against the answer's cap before it is copied
// (a 100 MB string is refused without being copied), every string repaired to valid UTF-8.
class Intake {
public:
    Intake(std::size_t used, std::size_t cap) : used_(used), cap_(cap) {}

    std::string text(const char* s, const char* what)
    {
        if (s == nullptr) {
            throw Rejected(std::string(what) + " is null");
        }
        return optional_text(s, what);
    }

    std::string optional_text(const char* s, const char* what)
    {
        if (s == nullptr) {
            return {};
        }
        std::string copy = bytes(s, std::strlen(s), what);
        if (const auto replaced = repair_utf8(copy); replaced != 0) {
            replaced_ += replaced;
            if (first_invalid_ == nullptr) {
                first_invalid_ = what;
            }
        }
        return copy;
    }

    std::string bytes(const void* data, std::size_t size, const char* what)
    {
        count(size, what);
        return size == 0 ? std::string() : std::string(static_cast<const char*>(data), size);
    }

    void count(std::size_t size, const char* what)
    {
        if (size > cap_ - std::min(used_, cap_)) {
            throw OverCap(std::string(what) + " of " + std::to_string(size) + " bytes takes the answer over its cap of " +
                          std::to_string(cap_) + " bytes (" + std::to_string(used_) + " already collected)");
        }
        used_ += size;
    }

    std::size_t used() const noexcept { return used_; }
    std::size_t replaced() const noexcept { return replaced_; }
    const char* first_invalid() const noexcept { return first_invalid_; }

private:
    std::size_t used_;
    std::size_t cap_;
    std::size_t replaced_ = 0;
    const char* first_invalid_ = nullptr;
};

float unit(float value, const char* what)
{
    if (!std::isfinite(value)) {
        throw Rejected(std::string(what) + " is not a finite number");
    }
    return std::clamp(value, 0.0f, 1.0f);
}

std::optional<float> confidence_of(float value)
{
    if (std::isnan(value)) {
        throw Rejected("confidence is NaN");
    }
    if (value < 0) {
        return std::nullopt; // the ABI's "no confidence"
    }
    return std::min(value, 1.0f);
}

// Tags always carry a confidence: clients in the field (Intel's) crash on a classification without one, and
// proto3 would send an absent one as 0, "certainly not". A plugin that gives none asserts the tag.
float tag_confidence_of(float value) { return confidence_of(value).value_or(1.0f); }

Box box_of(const ava_box& b)
{
    Box box{unit(b.l, "box.l"), unit(b.t, "box.t"), unit(b.w, "box.w"), unit(b.h, "box.h")};
    // Keep the box inside the frame: the schema bounds each edge, and consumers draw it.
    box.w = std::min(box.w, 1.0f - box.l);
    box.h = std::min(box.h, 1.0f - box.t);
    return box;
}

bool blank(const std::string& s)
{
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

KeyValues key_values_of(Intake& in, const ava_key_value* items, uint32_t count, const char* what)
{
    KeyValues out;
    if (count != 0 && items == nullptr) {
        throw Rejected(std::string(what) + " is null with a non-zero count");
    }
    out.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        auto key = in.text(items[i].key, "key");
        out.emplace_back(std::move(key), in.text(items[i].value, "value"));
    }
    return out;
}

// Reads only the fields the plugin's struct_size says it has (older minors have fewer).
#define AVA_META_HAS(meta, field) \
    ((meta).struct_size >= offsetof(ava_inference_meta, field) + sizeof(ava_inference_meta::field))

void apply_meta(Intake& in, const ava_inference_meta* meta, Inference& inference)
{
    if (meta == nullptr) {
        return;
    }
    if (AVA_META_HAS(*meta, subtype) && meta->subtype != nullptr) {
        inference.subtype = in.text(meta->subtype, "subtype");
        if (blank(inference.subtype)) {
            throw Rejected("subtype is blank");
        }
    }
    if (AVA_META_HAS(*meta, inference_id)) {
        inference.inference_id = in.optional_text(meta->inference_id, "inference id");
    }
    if (AVA_META_HAS(*meta, related_count) && meta->related_count != 0) {
        if (meta->related_inferences == nullptr) {
            throw Rejected("related_inferences is null with a non-zero count");
        }
        for (uint32_t i = 0; i < meta->related_count; ++i) {
            inference.related_inferences.push_back(in.text(meta->related_inferences[i], "related inference"));
        }
    }
    if (AVA_META_HAS(*meta, extension_count)) {
        inference.extensions = key_values_of(in, meta->extensions, meta->extension_count, "extensions");
    }
    if (AVA_META_HAS(*meta, attribute_count) && meta->attribute_count != 0) {
        if (meta->attributes == nullptr) {
            throw Rejected("attributes is null with a non-zero count");
        }
        for (uint32_t i = 0; i < meta->attribute_count; ++i) {
            const auto& a = meta->attributes[i];
            auto name = in.text(a.name, "attribute name");
            auto value = in.text(a.value, "attribute value");
            inference.attributes.push_back(Attribute{std::move(name), std::move(value), confidence_of(a.confidence)});
        }
    }
}

InferenceCollector& self(void* context) { return *static_cast<InferenceCollector*>(context); }

// Invalid UTF-8 is logged at most once per collector (one frame) and once per interval across all of
// them: an analyzer that always emits it must not flood the log at the frame rate.
bool utf8_warning_due()
{
    static std::atomic<std::int64_t> next{0}; // steady-clock ticks: the log's only shared state
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto due = next.load(std::memory_order_relaxed);
    const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(10)).count();
    return now >= due && next.compare_exchange_strong(due, now + interval, std::memory_order_relaxed);
}

} // namespace

InferenceCollector::InferenceCollector(std::string_view analyzer, std::size_t max_bytes)
    : analyzer_(analyzer), max_bytes_(max_bytes)
{
    sink_.struct_size = sizeof sink_;
    sink_.context = this;
    sink_.classification = &on_classification;
    sink_.entity = &on_entity;
    sink_.motion = &on_motion;
    sink_.event = &on_event;
    sink_.text = &on_text;
    sink_.other = &on_other;
}

InferenceList InferenceCollector::take()
{
    if (over_cap_) {
        throw AnswerTooLarge(analyzer_ + ": answer too large, refused: " + last_rejection_);
    }
    return std::move(inferences_);
}

template <typename Build>
ava_status InferenceCollector::add(const ava_inference_meta* meta, Build&& build) noexcept
{
    if (over_cap_) {
        return AVA_STATUS_OUT_OF_MEMORY; // the frame fails anyway: copy nothing more
    }
    try {
        Intake in(answer_bytes_, max_bytes_);
        in.count(per_inference_bytes, "an inference");
        Inference inference{};
        inference.value = build(in);
        apply_meta(in, meta, inference);
        inferences_.push_back(std::move(inference));
        answer_bytes_ = in.used();
        if (in.replaced() != 0) {
            const bool first = utf8_replacements_ == 0;
            utf8_replacements_ += in.replaced();
            if (first && utf8_warning_due()) {
                spdlog::warn("{}: emitted invalid UTF-8 (in its {}); each invalid sequence was replaced with U+FFFD "
                             "(logged at most every 10 s)",
                             analyzer_, in.first_invalid());
            }
        }
        return AVA_STATUS_OK;
    } catch (const Rejected& e) {
        last_rejection_ = e.what();
        return AVA_STATUS_INVALID_ARGUMENT;
    } catch (const OverCap& e) {
        over_cap_ = true;
        last_rejection_ = e.what();
        return AVA_STATUS_OUT_OF_MEMORY; // not the caller's fault, whatever the plugin does with it
    } catch (const std::bad_alloc&) {
        last_rejection_ = "out of memory";
        return AVA_STATUS_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        last_rejection_ = e.what();
        return AVA_STATUS_INTERNAL;
    }
}

ava_status InferenceCollector::on_classification(void* context, const ava_inference_meta* meta, const char* value,
                                                 float confidence) noexcept
{
    return self(context).add(meta, [&](Intake& in) {
        return Classification{in.text(value, "classification value"), tag_confidence_of(confidence)};
    });
}

ava_status InferenceCollector::on_entity(void* context, const ava_inference_meta* meta, const char* tag,
                                         float confidence, ava_box box, const char* id) noexcept
{
    return self(context).add(meta, [&](Intake& in) {
        auto entity_tag = in.text(tag, "entity tag");
        return Entity{std::move(entity_tag), tag_confidence_of(confidence), box_of(box), in.optional_text(id, "entity id")};
    });
}

ava_status InferenceCollector::on_motion(void* context, const ava_inference_meta* meta, ava_box box) noexcept
{
    return self(context).add(meta, [&](Intake&) { return Motion{box_of(box)}; });
}

ava_status InferenceCollector::on_event(void* context, const ava_inference_meta* meta, const char* name,
                                        const ava_key_value* properties, uint32_t count) noexcept
{
    return self(context).add(meta, [&](Intake& in) {
        auto event_name = in.text(name, "event name");
        return Event{std::move(event_name), key_values_of(in, properties, count, "event properties")};
    });
}

ava_status InferenceCollector::on_text(void* context, const ava_inference_meta* meta, const char* value,
                                       const char* language, uint64_t start, uint64_t end) noexcept
{
    return self(context).add(meta, [&](Intake& in) {
        auto text = in.text(value, "text value");
        return Text{std::move(text), in.optional_text(language, "text language"), start, end};
    });
}

ava_status InferenceCollector::on_other(void* context, const ava_inference_meta* meta, const char* content_type,
                                        const void* content, size_t size) noexcept
{
    return self(context).add(meta, [&](Intake& in) {
        if (size != 0 && content == nullptr) {
            throw Rejected("other content is null with a non-zero size");
        }
        auto type = in.text(content_type, "other content type");
        return Other{std::move(type), in.bytes(content, size, "other content")}; // bytes, not text: no UTF-8 check
    });
}

} // namespace ava::inferences
