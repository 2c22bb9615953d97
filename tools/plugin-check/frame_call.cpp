#include "frame_call.h"

#include "inferences/utf8.h"

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>

namespace ava::plugin_check {
namespace {

std::string number(float value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%g", static_cast<double>(value));
    return text;
}

// The schema's tolerance for a box edge that lands on the frame edge through rounding.
constexpr float edge_slack = 1e-4F;

} // namespace

FrameCall::FrameCall(std::string label, std::string analyzer, Report& report)
    : label_(std::move(label)), report_(report), collector_(analyzer)
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

inferences::InferenceList FrameCall::close()
{
    const std::lock_guard lock(mutex_);
    open_ = false;
    return collector_.take();
}

template <typename Check, typename Forward>
ava_status FrameCall::emit(const char* kind, Check&& check, Forward&& forward) noexcept
{
    const std::lock_guard lock(mutex_);
    try {
        if (!open_) {
            report_.fail("sink", label_ + ": a " + std::string(kind) +
                                     " inference was emitted through this frame's sink after process() returned "
                                     "(the sink is valid only during the call)");
            return AVA_STATUS_INVALID_ARGUMENT;
        }
        check();
    } catch (const std::exception& e) {
        report_.fail("checker", e.what());
    }
    return forward(collector_.sink());
}

void FrameCall::check_text(const char* text, const std::string& what)
{
    if (text != nullptr && !inferences::is_valid_utf8(text)) {
        report_.fail("utf8", label_ + ": " + what + " is not valid UTF-8 (the host replaces the bad bytes with U+FFFD)");
    }
}

void FrameCall::check_box(const ava_box& box, const char* kind)
{
    const bool finite = std::isfinite(box.l) && std::isfinite(box.t) && std::isfinite(box.w) && std::isfinite(box.h);
    if (!finite || box.l < 0 || box.t < 0 || box.w < 0 || box.h < 0 || box.l + box.w > 1 + edge_slack ||
        box.t + box.h > 1 + edge_slack) {
        report_.fail("box", label_ + ": " + kind + " box {l " + number(box.l) + ", t " + number(box.t) + ", w " +
                                number(box.w) + ", h " + number(box.h) +
                                "} lies outside the frame (boxes are normalised: 0 <= l, t and l + w, t + h <= 1)");
    }
}

void FrameCall::check_confidence(float confidence, const char* kind)
{
    if (std::isnan(confidence) || confidence > 1) {
        report_.fail("confidence", label_ + ": " + kind + " confidence " + number(confidence) +
                                       " is not in 0..1 (use a negative value for none)");
    }
}

void FrameCall::check_meta(const ava_inference_meta* meta, const char* kind)
{
    if (meta == nullptr) {
        return;
    }
    const std::string in = std::string(" of a ") + kind;
    // Only the fields the plugin's struct has (its struct_size), as the host's collector reads them.
    const auto has = [&](std::size_t end) { return meta->struct_size >= end; };
    if (has(offsetof(ava_inference_meta, inference_id) + sizeof meta->inference_id)) {
        check_text(meta->subtype, "subtype" + in);
        check_text(meta->inference_id, "inference_id" + in);
    }
    const bool related = has(offsetof(ava_inference_meta, related_count) + sizeof meta->related_count);
    for (uint32_t i = 0; related && meta->related_inferences != nullptr && i < meta->related_count; ++i) {
        check_text(meta->related_inferences[i], "related inference" + in);
    }
    const bool extensions = has(offsetof(ava_inference_meta, extension_count) + sizeof meta->extension_count);
    for (uint32_t i = 0; extensions && meta->extensions != nullptr && i < meta->extension_count; ++i) {
        check_text(meta->extensions[i].key, "extension key" + in);
        check_text(meta->extensions[i].value, "extension value" + in);
    }
    const bool attributes = has(offsetof(ava_inference_meta, attribute_count) + sizeof meta->attribute_count);
    for (uint32_t i = 0; attributes && meta->attributes != nullptr && i < meta->attribute_count; ++i) {
        check_text(meta->attributes[i].name, "attribute name" + in);
        check_text(meta->attributes[i].value, "attribute value" + in);
        check_confidence(meta->attributes[i].confidence, "attribute");
    }
}

ava_status FrameCall::on_classification(void* context, const ava_inference_meta* meta, const char* value,
                                        float confidence) noexcept
{
    auto& self = *static_cast<FrameCall*>(context);
    return self.emit(
        "classification",
        [&] {
            self.check_meta(meta, "classification");
            self.check_text(value, "classification value");
            self.check_confidence(confidence, "classification");
        },
        [&](const ava_result_sink& s) { return s.classification(s.context, meta, value, confidence); });
}

ava_status FrameCall::on_entity(void* context, const ava_inference_meta* meta, const char* tag, float confidence,
                                ava_box box, const char* id) noexcept
{
    auto& self = *static_cast<FrameCall*>(context);
    return self.emit(
        "entity",
        [&] {
            self.check_meta(meta, "entity");
            self.check_text(tag, "entity tag");
            self.check_text(id, "entity id");
            self.check_confidence(confidence, "entity");
            self.check_box(box, "entity");
        },
        [&](const ava_result_sink& s) { return s.entity(s.context, meta, tag, confidence, box, id); });
}

ava_status FrameCall::on_motion(void* context, const ava_inference_meta* meta, ava_box box) noexcept
{
    auto& self = *static_cast<FrameCall*>(context);
    return self.emit(
        "motion",
        [&] {
            self.check_meta(meta, "motion");
            self.check_box(box, "motion");
        },
        [&](const ava_result_sink& s) { return s.motion(s.context, meta, box); });
}

ava_status FrameCall::on_event(void* context, const ava_inference_meta* meta, const char* name,
                               const ava_key_value* properties, uint32_t count) noexcept
{
    auto& self = *static_cast<FrameCall*>(context);
    return self.emit(
        "event",
        [&] {
            self.check_meta(meta, "event");
            self.check_text(name, "event name");
            for (uint32_t i = 0; properties != nullptr && i < count; ++i) {
                self.check_text(properties[i].key, "event property name");
                self.check_text(properties[i].value, "event property value");
            }
        },
        [&](const ava_result_sink& s) { return s.event(s.context, meta, name, properties, count); });
}

ava_status FrameCall::on_text(void* context, const ava_inference_meta* meta, const char* value, const char* language,
                              uint64_t start, uint64_t end) noexcept
{
    auto& self = *static_cast<FrameCall*>(context);
    return self.emit(
        "text",
        [&] {
            self.check_meta(meta, "text");
            self.check_text(value, "text value");
            self.check_text(language, "text language");
        },
        [&](const ava_result_sink& s) { return s.text(s.context, meta, value, language, start, end); });
}

ava_status FrameCall::on_other(void* context, const ava_inference_meta* meta, const char* content_type,
                               const void* content, size_t size) noexcept
{
    auto& self = *static_cast<FrameCall*>(context);
    return self.emit(
        "other",
        [&] {
            self.check_meta(meta, "other");
            self.check_text(content_type, "content type");
        },
        [&](const ava_result_sink& s) { return s.other(s.context, meta, content_type, content, size); });
}

FrameCall& CallArchive::start(std::string label, std::string analyzer, Report& report)
{
    auto call = std::make_unique<FrameCall>(std::move(label), std::move(analyzer), report);
    const std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
    return *calls_.back();
}

std::size_t CallArchive::size() const
{
    const std::lock_guard lock(mutex_);
    return calls_.size();
}

} // namespace ava::plugin_check
