#include "inference_json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace ava::replay {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write(Writer& w, const std::string& s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void write_box(Writer& w, const contract::Rectangle& box)
{
    w.Key("box");
    w.StartObject();
    w.Key("l");
    w.Double(box.l());
    w.Key("t");
    w.Double(box.t());
    w.Key("w");
    w.Double(box.w());
    w.Key("h");
    w.Double(box.h());
    w.EndObject();
}

// proto3 has no "unset" for a float: the host sends 0 for "no confidence", so 0 is left out.
void write_tag(Writer& w, const contract::Tag& tag)
{
    w.Key("tag");
    w.StartObject();
    w.Key("value");
    write(w, tag.value());
    if (tag.confidence() > 0) {
        w.Key("confidence");
        w.Double(tag.confidence());
    }
    w.EndObject();
}

template <typename Attributes>
void write_attributes(Writer& w, const Attributes& attributes)
{
    if (attributes.empty()) {
        return;
    }
    w.Key("attributes");
    w.StartArray();
    for (const auto& a : attributes) {
        w.StartObject();
        w.Key("name");
        write(w, a.name());
        w.Key("value");
        write(w, a.value());
        if (a.confidence() > 0) {
            w.Key("confidence");
            w.Double(a.confidence());
        }
        w.EndObject();
    }
    w.EndArray();
}

template <typename Map>
void write_map(Writer& w, const char* key, const Map& map)
{
    if (map.empty()) {
        return;
    }
    w.Key(key);
    w.StartObject();
    for (const auto& [k, v] : map) {
        write(w, k);
        write(w, v);
    }
    w.EndObject();
}

void write_inference(Writer& w, const contract::Inference& inference)
{
    w.StartObject();
    switch (inference.value_case()) {
    case contract::Inference::kClassification:
        w.Key("type");
        w.String("classification");
        w.Key("classification");
        w.StartObject();
        write_tag(w, inference.classification().tag());
        write_attributes(w, inference.classification().attributes());
        w.EndObject();
        break;
    case contract::Inference::kEntity:
        w.Key("type");
        w.String("entity");
        w.Key("entity");
        w.StartObject();
        write_tag(w, inference.entity().tag());
        write_box(w, inference.entity().box());
        if (!inference.entity().id().empty()) {
            w.Key("id");
            write(w, inference.entity().id());
        }
        write_attributes(w, inference.entity().attributes());
        w.EndObject();
        break;
    case contract::Inference::kMotion:
        w.Key("type");
        w.String("motion");
        w.Key("motion");
        w.StartObject();
        write_box(w, inference.motion().box());
        w.EndObject();
        break;
    case contract::Inference::kText:
        w.Key("type");
        w.String("text");
        w.Key("text");
        w.StartObject();
        w.Key("value");
        write(w, inference.text().value());
        if (!inference.text().language().empty()) {
            w.Key("language");
            write(w, inference.text().language());
        }
        w.EndObject();
        break;
    case contract::Inference::kEvent:
        w.Key("type");
        w.String("event");
        w.Key("event");
        w.StartObject();
        w.Key("name");
        write(w, inference.event().name());
        write_map(w, "properties", inference.event().properties());
        w.EndObject();
        break;
    case contract::Inference::kOther:
        w.Key("type");
        w.String("other");
        w.Key("other");
        w.StartObject();
        w.Key("contentType");
        write(w, inference.other().content_type());
        w.Key("contentBytesLength");
        w.Uint64(inference.other().content_bytes().size());
        w.EndObject();
        break;
    case contract::Inference::VALUE_NOT_SET:
        w.Key("type");
        w.String("unknown");
        break;
    }
    if (!inference.subtype().empty()) {
        w.Key("subtype");
        write(w, inference.subtype());
    }
    if (!inference.inference_id().empty()) {
        w.Key("inferenceId");
        write(w, inference.inference_id());
    }
    write_map(w, "extensions", inference.extensions());
    w.EndObject();
}

} // namespace

std::string json_line(uint64_t frame_index, const Ack& ack)
{
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("frame");
    w.Uint64(frame_index);
    w.Key("sequence");
    w.Uint64(ack.sequence);
    w.Key("timestamp");
    w.Uint64(ack.timestamp);
    w.Key("latencyMs");
    w.Double(static_cast<double>(ack.latency.count()) / 1000.0);
    w.Key("inferences");
    w.StartArray();
    for (const auto& inference : ack.sample.inferences()) {
        write_inference(w, inference);
    }
    w.EndArray();
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

} // namespace ava::replay
