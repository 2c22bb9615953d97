#include "inference_collector.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>

namespace ava::inferences {
namespace {

// Thrown inside add() to refuse one emit; never crosses the C boundary.
struct Rejected : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

std::string required(const char* text, const char* what)
{
    if (text == nullptr) {
        throw Rejected(std::string(what) + " is null");
    }
    return text;
}

std::string optional_text(const char* text) { return text != nullptr ? text : ""; }

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

KeyValues key_values_of(const ava_key_value* items, uint32_t count, const char* what)
{
    KeyValues out;
    if (count != 0 && items == nullptr) {
        throw Rejected(std::string(what) + " is null with a non-zero count");
    }
    out.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        out.emplace_back(required(items[i].key, "key"), required(items[i].value, "value"));
    }
    return out;
}

// Reads only the fields the plugin's struct_size says it has (older minors have fewer).
#define AVA_META_HAS(meta, field) \
    ((meta).struct_size >= offsetof(ava_inference_meta, field) + sizeof(ava_inference_meta::field))

void apply_meta(const ava_inference_meta* meta, Inference& inference)
{
    if (meta == nullptr) {
        return;
    }
    if (AVA_META_HAS(*meta, subtype) && meta->subtype != nullptr) {
        inference.subtype = meta->subtype;
        if (blank(inference.subtype)) {
            throw Rejected("subtype is blank");
        }
    }
    if (AVA_META_HAS(*meta, inference_id)) {
        inference.inference_id = optional_text(meta->inference_id);
    }
    if (AVA_META_HAS(*meta, related_count) && meta->related_count != 0) {
        if (meta->related_inferences == nullptr) {
            throw Rejected("related_inferences is null with a non-zero count");
        }
        for (uint32_t i = 0; i < meta->related_count; ++i) {
            inference.related_inferences.push_back(required(meta->related_inferences[i], "related inference"));
        }
    }
    if (AVA_META_HAS(*meta, extension_count)) {
        inference.extensions = key_values_of(meta->extensions, meta->extension_count, "extensions");
    }
    if (AVA_META_HAS(*meta, attribute_count) && meta->attribute_count != 0) {
        if (meta->attributes == nullptr) {
            throw Rejected("attributes is null with a non-zero count");
        }
        for (uint32_t i = 0; i < meta->attribute_count; ++i) {
            const auto& a = meta->attributes[i];
            inference.attributes.push_back(
                Attribute{required(a.name, "attribute name"), required(a.value, "attribute value"), confidence_of(a.confidence)});
        }
    }
}

InferenceCollector& self(void* context) { return *static_cast<InferenceCollector*>(context); }

} // namespace

InferenceCollector::InferenceCollector()
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

template <typename Build>
ava_status InferenceCollector::add(const ava_inference_meta* meta, Build&& build) noexcept
{
    try {
        Inference inference{};
        inference.value = build();
        apply_meta(meta, inference);
        inferences_.push_back(std::move(inference));
        return AVA_STATUS_OK;
    } catch (const Rejected& e) {
        last_rejection_ = e.what();
        return AVA_STATUS_INVALID_ARGUMENT;
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
    return self(context).add(meta, [&] { return Classification{required(value, "classification value"), confidence_of(confidence)}; });
}

ava_status InferenceCollector::on_entity(void* context, const ava_inference_meta* meta, const char* tag,
                                         float confidence, ava_box box, const char* id) noexcept
{
    return self(context).add(meta, [&] {
        return Entity{required(tag, "entity tag"), confidence_of(confidence), box_of(box), optional_text(id)};
    });
}

ava_status InferenceCollector::on_motion(void* context, const ava_inference_meta* meta, ava_box box) noexcept
{
    return self(context).add(meta, [&] { return Motion{box_of(box)}; });
}

ava_status InferenceCollector::on_event(void* context, const ava_inference_meta* meta, const char* name,
                                        const ava_key_value* properties, uint32_t count) noexcept
{
    return self(context).add(meta, [&] { return Event{required(name, "event name"), key_values_of(properties, count, "event properties")}; });
}

ava_status InferenceCollector::on_text(void* context, const ava_inference_meta* meta, const char* value,
                                       const char* language, uint64_t start, uint64_t end) noexcept
{
    return self(context).add(meta, [&] { return Text{required(value, "text value"), optional_text(language), start, end}; });
}

ava_status InferenceCollector::on_other(void* context, const ava_inference_meta* meta, const char* content_type,
                                        const void* content, size_t size) noexcept
{
    return self(context).add(meta, [&] {
        if (size != 0 && content == nullptr) {
            throw Rejected("other content is null with a non-zero size");
        }
        return Other{required(content_type, "other content type"),
                     size == 0 ? std::string() : std::string(static_cast<const char*>(content), size)};
    });
}

} // namespace ava::inferences
