#include "proto_writer.h"

namespace ava::inferences {
namespace {

void write_box(const Box& box, proto::Rectangle& out)
{
    out.set_l(box.l);
    out.set_t(box.t);
    out.set_w(box.w);
    out.set_h(box.h);
}

// proto3 floats have no presence: an absent confidence goes out as 0, which readers take as "unknown".
void write_tag(const std::string& value, const std::optional<float>& confidence, proto::Tag& out)
{
    out.set_value(value);
    out.set_confidence(confidence.value_or(0.0f));
}

void write_attributes(const std::vector<Attribute>& attributes,
                      google::protobuf::RepeatedPtrField<proto::Attribute>& out)
{
    for (const auto& a : attributes) {
        auto& item = *out.Add();
        item.set_name(a.name);
        item.set_value(a.value);
        item.set_confidence(a.confidence.value_or(0.0f));
    }
}

struct ValueWriter {
    const Inference& inference;
    proto::Inference& out;

    void operator()(const Classification& c) const
    {
        out.set_type(proto::Inference::CLASSIFICATION);
        auto& classification = *out.mutable_classification();
        write_tag(c.value, c.confidence, *classification.mutable_tag());
        write_attributes(inference.attributes, *classification.mutable_attributes());
    }
    void operator()(const Entity& e) const
    {
        out.set_type(proto::Inference::ENTITY);
        auto& entity = *out.mutable_entity();
        write_tag(e.tag, e.confidence, *entity.mutable_tag());
        write_attributes(inference.attributes, *entity.mutable_attributes());
        write_box(e.box, *entity.mutable_box());
        entity.set_id(e.id);
    }
    void operator()(const Motion& m) const
    {
        out.set_type(proto::Inference::MOTION);
        write_box(m.box, *out.mutable_motion()->mutable_box());
    }
    void operator()(const Event& e) const
    {
        out.set_type(proto::Inference::EVENT);
        auto& event = *out.mutable_event();
        event.set_name(e.name);
        auto& properties = *event.mutable_properties();
        for (const auto& [key, value] : e.properties) {
            properties[key] = value;
        }
    }
    void operator()(const Text& t) const
    {
        out.set_type(proto::Inference::TEXT);
        auto& text = *out.mutable_text();
        text.set_value(t.value);
        text.set_language(t.language);
        text.set_start_timestamp(t.start_timestamp);
        text.set_end_timestamp(t.end_timestamp);
    }
    void operator()(const Other& o) const
    {
        out.set_type(proto::Inference::OTHER);
        auto& other = *out.mutable_other();
        other.set_content_type(o.content_type);
        other.set_content_bytes(o.content);
    }
};

} // namespace

void to_proto(const Inference& inference, proto::Inference& out)
{
    out.Clear();
    out.set_subtype(inference.subtype);
    out.set_inference_id(inference.inference_id);
    for (const auto& related : inference.related_inferences) {
        out.add_related_inferences(related);
    }
    auto& extensions = *out.mutable_extensions();
    for (const auto& [key, value] : inference.extensions) {
        extensions[key] = value;
    }
    std::visit(ValueWriter{inference, out}, inference.value);
}

void to_proto(const InferenceList& list, google::protobuf::RepeatedPtrField<proto::Inference>& out)
{
    out.Clear(); // keeps the cleared elements for Add() to reuse
    for (const auto& inference : list) {
        to_proto(inference, *out.Add());
    }
}

} // namespace ava::inferences
