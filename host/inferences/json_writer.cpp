#include "json_writer.h"

#include "utf8.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/beast/core/detail/base64.hpp>

namespace ava::inferences {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void write_key_values(Writer& w, const KeyValues& items)
{
    w.StartObject();
    for (const auto& [key, value] : items) {
        write_string(w, key);
        write_string(w, value);
    }
    w.EndObject();
}

void write_box(Writer& w, const Box& box)
{
    w.Key("box");
    w.StartObject();
    w.Key("l");
    w.Double(box.l);
    w.Key("t");
    w.Double(box.t);
    w.Key("w");
    w.Double(box.w);
    w.Key("h");
    w.Double(box.h);
    w.EndObject();
}

void write_tag(Writer& w, const std::string& value, const std::optional<float>& confidence)
{
    w.Key("tag");
    w.StartObject();
    w.Key("value");
    write_string(w, value);
    if (confidence) {
        w.Key("confidence");
        w.Double(*confidence);
    }
    w.EndObject();
}

void write_attributes(Writer& w, const std::vector<Attribute>& attributes)
{
    if (attributes.empty()) {
        return;
    }
    w.Key("attributes");
    w.StartArray();
    for (const auto& a : attributes) {
        w.StartObject();
        w.Key("name");
        write_string(w, a.name);
        w.Key("value");
        write_string(w, a.value);
        if (a.confidence) {
            w.Key("confidence");
            w.Double(*a.confidence);
        }
        w.EndObject();
    }
    w.EndArray();
}

struct ValueWriter {
    Writer& w;
    const Inference& inference;

    void operator()(const Classification& c) const
    {
        w.Key("type");
        w.String("classification");
        w.Key("classification");
        w.StartObject();
        write_tag(w, c.value, c.confidence);
        write_attributes(w, inference.attributes);
        w.EndObject();
    }
    void operator()(const Entity& e) const
    {
        w.Key("type");
        w.String("entity");
        w.Key("entity");
        w.StartObject();
        write_tag(w, e.tag, e.confidence);
        write_box(w, e.box);
        if (!e.id.empty()) {
            w.Key("id");
            write_string(w, e.id);
        }
        write_attributes(w, inference.attributes);
        w.EndObject();
    }
    void operator()(const Motion& m) const
    {
        w.Key("type");
        w.String("motion");
        w.Key("motion");
        w.StartObject();
        write_box(w, m.box);
        w.EndObject();
    }
    void operator()(const Event& e) const
    {
        w.Key("type");
        w.String("event");
        w.Key("event");
        w.StartObject();
        w.Key("name");
        write_string(w, e.name);
        w.Key("properties");
        write_key_values(w, e.properties);
        w.EndObject();
    }
    void operator()(const Text& t) const
    {
        w.Key("type");
        w.String("text");
        w.Key("text");
        w.StartObject();
        w.Key("value");
        write_string(w, t.value);
        if (!t.language.empty()) {
            w.Key("language");
            write_string(w, t.language);
        }
        if (t.start_timestamp != 0 || t.end_timestamp != 0) {
            w.Key("startTimestamp");
            w.Uint64(t.start_timestamp);
            w.Key("endTimestamp");
            w.Uint64(t.end_timestamp);
        }
        w.EndObject();
    }
    void operator()(const Other& o) const
    {
        w.Key("type");
        w.String("other");
        w.Key("other");
        w.StartObject();
        w.Key("contentType");
        write_string(w, o.content_type);
        std::string encoded(boost::beast::detail::base64::encoded_size(o.content.size()), '\0');
        encoded.resize(boost::beast::detail::base64::encode(encoded.data(), o.content.data(), o.content.size()));
        w.Key("contentBytes");
        write_string(w, encoded);
        w.EndObject();
    }
};

} // namespace

std::string to_json(const InferenceList& inferences)
{
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("inferences");
    w.StartArray();
    for (const auto& inference : inferences) {
        w.StartObject();
        std::visit(ValueWriter{w, inference}, inference.value);
        if (!inference.subtype.empty()) {
            w.Key("subtype");
            write_string(w, inference.subtype);
        }
        if (!inference.inference_id.empty()) {
            w.Key("inferenceId");
            write_string(w, inference.inference_id);
        }
        if (!inference.related_inferences.empty()) {
            w.Key("relatedInferences");
            w.StartArray();
            for (const auto& id : inference.related_inferences) {
                write_string(w, id);
            }
            w.EndArray();
        }
        if (!inference.extensions.empty()) {
            w.Key("extensions");
            write_key_values(w, inference.extensions);
        }
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

std::string error_json(std::string_view code, std::string_view message)
{
    // Messages quote client and plugin text cut to a length, which may split a UTF-8 sequence: the body
    // must still be valid JSON text.
    std::string repaired;
    if (!is_valid_utf8(message)) {
        repaired.assign(message);
        repair_utf8(repaired);
        message = repaired;
    }
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("error");
    w.StartObject();
    w.Key("code");
    write_string(w, code);
    w.Key("message");
    write_string(w, message);
    w.EndObject();
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

} // namespace ava::inferences
