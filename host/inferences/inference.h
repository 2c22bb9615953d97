#pragma once
// The host's one model of an inference (the AVA inference metadata), written to JSON for HTTP and to
// protobuf for gRPC. Plugins never see it: they emit through the C result sink (InferenceCollector).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ava::inferences {

struct Box {
    float l = 0, t = 0, w = 0, h = 0; // normalised to the frame, 0..1
};

struct Attribute {
    std::string name;
    std::string value;
    std::optional<float> confidence;
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct Classification {
    std::string value;
    std::optional<float> confidence;
};

struct Entity {
    std::string tag;
    std::optional<float> confidence;
    Box box;
    std::string id; // empty: none
};

struct Motion {
    Box box;
};

struct Event {
    std::string name;
    KeyValues properties;
};

struct Text {
    std::string value;
    std::string language; // empty: none
    std::uint64_t start_timestamp = 0;
    std::uint64_t end_timestamp = 0;
};

struct Other {
    std::string content_type;
    std::string content; // raw bytes (base64 only on the JSON side)
};

struct Inference {
    std::string subtype;      // empty: none
    std::string inference_id; // empty: none
    std::vector<std::string> related_inferences;
    KeyValues extensions;
    std::vector<Attribute> attributes; // classification and entity only
    std::variant<Classification, Entity, Motion, Event, Text, Other> value;
};

using InferenceList = std::vector<Inference>;

} // namespace ava::inferences
