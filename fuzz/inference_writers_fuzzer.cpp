// Fuzz target: the inference writers fed arbitrary analyzer output. The fuzzed bytes drive the plugin ABI's
// result sink (inferences::InferenceCollector, as a plugin calls it) with arbitrary strings, floats (NaN,
// infinities, out of range) and metadata; then what was collected is written as the HTTP body
// (inferences::to_json) and as gRPC inferences (inferences::to_proto).
// Checks: the JSON body is one UTF-8-valid JSON document (RapidJSON) and every proto3 string field is valid
// UTF-8, so the pipeline's deserialiser accepts the reply (issue 10, item 6).
#include "common/fuzz_env.h"

#include "inferences/inference_collector.h"
#include "inferences/json_writer.h"
#include "inferences/proto_writer.h"

#include <extension.pb.h>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

namespace proto = ava::inferences::proto;

float fuzzed_float(FuzzedDataProvider& in)
{
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
        return in.ConsumeProbability<float>();
    case 1:
        return in.ConsumeFloatingPoint<float>();
    case 2: {
        const auto bits = in.ConsumeIntegral<std::uint32_t>(); // NaNs, infinities, denormals
        float f;
        std::memcpy(&f, &bits, sizeof f);
        return f;
    }
    default:
        return -1.0f; // "no confidence"
    }
}

ava_box fuzzed_box(FuzzedDataProvider& in)
{
    return {fuzzed_float(in), fuzzed_float(in), fuzzed_float(in), fuzzed_float(in)};
}

// Strings and arrays the meta points into, kept alive for the call.
struct Meta {
    std::vector<std::string> strings;
    std::vector<const char*> related;
    std::vector<ava_key_value> extensions;
    std::vector<ava_attribute> attributes;
    ava_inference_meta meta{};

    const char* keep(std::string s)
    {
        strings.push_back(std::move(s));
        return strings.back().c_str();
    }
    const char* maybe(FuzzedDataProvider& in)
    {
        return in.ConsumeBool() ? keep(in.ConsumeRandomLengthString(64)) : nullptr;
    }
};

const ava_inference_meta* fuzzed_meta(FuzzedDataProvider& in, Meta& m)
{
    if (in.ConsumeBool()) {
        return nullptr;
    }
    m.strings.reserve(64); // c_str() pointers must stay valid
    m.meta.struct_size = sizeof m.meta;
    m.meta.subtype = m.maybe(in);
    m.meta.inference_id = m.maybe(in);
    for (int i = in.ConsumeIntegralInRange<int>(0, 3); i > 0; --i) {
        m.related.push_back(m.keep(in.ConsumeRandomLengthString(32)));
    }
    for (int i = in.ConsumeIntegralInRange<int>(0, 3); i > 0; --i) {
        const char* key = m.keep(in.ConsumeRandomLengthString(32));
        m.extensions.push_back({key, m.keep(in.ConsumeRandomLengthString(32))});
    }
    for (int i = in.ConsumeIntegralInRange<int>(0, 3); i > 0; --i) {
        const char* name = m.keep(in.ConsumeRandomLengthString(32));
        m.attributes.push_back({name, m.keep(in.ConsumeRandomLengthString(32)), fuzzed_float(in)});
    }
    m.meta.related_inferences = m.related.empty() ? nullptr : m.related.data();
    m.meta.related_count = static_cast<std::uint32_t>(m.related.size());
    m.meta.extensions = m.extensions.empty() ? nullptr : m.extensions.data();
    m.meta.extension_count = static_cast<std::uint32_t>(m.extensions.size());
    m.meta.attributes = m.attributes.empty() ? nullptr : m.attributes.data();
    m.meta.attribute_count = static_cast<std::uint32_t>(m.attributes.size());
    return &m.meta;
}

// Walks every string field of a message (recursively) and checks it is valid UTF-8; `bytes` fields are
// exempt (the "other" content is raw bytes by design).
void check_strings(const google::protobuf::Message& message)
{
    using google::protobuf::FieldDescriptor;
    const auto* reflection = message.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    reflection->ListFields(message, &fields);
    for (const auto* field : fields) {
        if (field->type() == FieldDescriptor::TYPE_STRING) {
            const int n = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
            for (int i = 0; i < n; ++i) {
                const auto value = field->is_repeated() ? reflection->GetRepeatedString(message, field, i)
                                                        : reflection->GetString(message, field);
                AVA_FUZZ_CHECK(ava::fuzz::valid_utf8(value),
                               "proto3 string field " + field->full_name() + " is not valid UTF-8");
            }
        } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
            if (field->is_repeated()) {
                for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
                    check_strings(reflection->GetRepeatedMessage(message, field, i));
                }
            } else {
                check_strings(reflection->GetMessage(message, field));
            }
        } else if (field->is_map()) {
            // (no maps in the contract today; maps are repeated messages above)
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    ava::fuzz::quiet_logs();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    ava::inferences::InferenceCollector collector;
    const ava_result_sink& sink = collector.sink();
    for (int calls = 0; calls < 16 && in.remaining_bytes() > 0; ++calls) {
        Meta m;
        const auto* meta = fuzzed_meta(in, m);
        switch (in.ConsumeIntegralInRange<int>(0, 5)) {
        case 0: {
            const auto value = in.ConsumeRandomLengthString(128);
            (void)sink.classification(sink.context, meta, value.c_str(), fuzzed_float(in));
            break;
        }
        case 1: {
            const auto tag = in.ConsumeRandomLengthString(64);
            const float confidence = fuzzed_float(in);
            const ava_box box = fuzzed_box(in);
            const auto id = in.ConsumeRandomLengthString(32);
            (void)sink.entity(sink.context, meta, tag.c_str(), confidence, box, in.ConsumeBool() ? id.c_str() : nullptr);
            break;
        }
        case 2:
            (void)sink.motion(sink.context, meta, fuzzed_box(in));
            break;
        case 3: {
            const auto name = in.ConsumeRandomLengthString(64);
            std::vector<std::string> texts;
            const int count = in.ConsumeIntegralInRange<int>(0, 4);
            texts.reserve(2 * count);
            std::vector<ava_key_value> properties;
            for (int i = 0; i < count; ++i) {
                texts.push_back(in.ConsumeRandomLengthString(32));
                texts.push_back(in.ConsumeRandomLengthString(32));
                properties.push_back({texts[texts.size() - 2].c_str(), texts.back().c_str()});
            }
            (void)sink.event(sink.context, meta, name.c_str(), properties.empty() ? nullptr : properties.data(),
                             static_cast<std::uint32_t>(properties.size()));
            break;
        }
        case 4: {
            const auto value = in.ConsumeRandomLengthString(128);
            const auto language = in.ConsumeRandomLengthString(16);
            const auto start = in.ConsumeIntegral<std::uint64_t>();
            const auto end = in.ConsumeIntegral<std::uint64_t>();
            (void)sink.text(sink.context, meta, value.c_str(), in.ConsumeBool() ? language.c_str() : nullptr, start, end);
            break;
        }
        default: {
            const auto type = in.ConsumeRandomLengthString(32);
            const auto content = in.ConsumeRandomLengthString(256); // may hold NULs: content has a size
            (void)sink.other(sink.context, meta, type.c_str(), content.data(), content.size());
            break;
        }
        }
    }
    const auto inferences = collector.take();

    const auto json = ava::inferences::to_json(inferences);
    AVA_FUZZ_CHECK(ava::fuzz::parses_as_json(json, true), "to_json wrote invalid (or non-UTF-8) JSON: " + json);

    {
        proto::MediaStreamMessage reply;
        ava::inferences::to_proto(inferences, *reply.mutable_media_sample()->mutable_inferences());
        check_strings(reply);
        std::string wire;
        AVA_FUZZ_CHECK(reply.SerializeToString(&wire), "the reply does not serialise");
        proto::MediaStreamMessage parsed;
        AVA_FUZZ_CHECK(parsed.ParseFromString(wire), "the pipeline's deserialiser refuses our reply");
    }
    return 0;
}
