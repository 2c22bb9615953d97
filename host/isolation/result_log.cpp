#include "result_log.h"

#include <deque>
#include <optional>
#include <vector>

namespace ava::isolation {
namespace {

enum : std::uint8_t { classification = 1, entity, motion, event, text, other };

void put_box(Writer& w, const ava_box& box) { w.put(box.l).put(box.t).put(box.w).put(box.h); }

void put_meta(Writer& w, const ava_inference_meta* meta)
{
    w.put(static_cast<std::uint8_t>(meta != nullptr));
    if (meta == nullptr) {
        return;
    }
    // Read only the fields the plugin's struct has (struct_size), as the in-process collector does.
    ava_inference_meta m{};
    std::memcpy(&m, meta, std::min<std::size_t>(meta->struct_size, sizeof m));
    w.put_optional(m.subtype).put_optional(m.inference_id);
    const auto related = m.related_inferences != nullptr ? m.related_count : 0;
    w.put(related);
    for (std::uint32_t i = 0; i < related; ++i) {
        w.put_optional(m.related_inferences[i]);
    }
    const auto extensions = m.extensions != nullptr ? m.extension_count : 0;
    w.put(extensions);
    for (std::uint32_t i = 0; i < extensions; ++i) {
        w.put_optional(m.extensions[i].key).put_optional(m.extensions[i].value);
    }
    const auto attributes = m.attributes != nullptr ? m.attribute_count : 0;
    w.put(attributes);
    for (std::uint32_t i = 0; i < attributes; ++i) {
        w.put_optional(m.attributes[i].name).put_optional(m.attributes[i].value).put(m.attributes[i].confidence);
    }
}

// Strings read back from a log, NUL-terminated and alive while the replayed call runs.
class Strings {
public:
    explicit Strings(Reader& r) : r_(r) {}
    const char* optional()
    {
        if (!r_.get_present()) {
            return nullptr;
        }
        return keep(r_.get_string());
    }
    const char* keep(std::string_view s) { return held_.emplace_back(s).c_str(); }

private:
    Reader& r_;
    std::deque<std::string> held_; // not a vector: growing one moves short strings, leaving c_str()s dangling
};

// Counts in a log are bounded by its size (every element takes at least one byte), so a lying count fails
// on truncation instead of reserving gigabytes.
std::uint32_t bounded_count(Reader& r, std::size_t log_size)
{
    const auto n = r.get<std::uint32_t>();
    if (n > log_size) {
        throw WireError("result log: count " + std::to_string(n) + " exceeds the log's size");
    }
    return n;
}

struct ReplayedMeta {
    ava_inference_meta meta{};
    std::vector<const char*> related;
    std::vector<ava_key_value> extensions;
    std::vector<ava_attribute> attributes;
};

std::optional<ReplayedMeta> get_meta(Reader& r, Strings& s, std::size_t log_size)
{
    if (!r.get_present()) {
        return std::nullopt;
    }
    ReplayedMeta out;
    out.meta.struct_size = sizeof out.meta;
    out.meta.subtype = s.optional();
    out.meta.inference_id = s.optional();
    out.related.resize(bounded_count(r, log_size));
    for (auto& related : out.related) {
        related = s.optional();
    }
    out.extensions.resize(bounded_count(r, log_size));
    for (auto& kv : out.extensions) {
        kv.key = s.optional();
        kv.value = s.optional();
    }
    out.attributes.resize(bounded_count(r, log_size));
    for (auto& a : out.attributes) {
        a.name = s.optional();
        a.value = s.optional();
        a.confidence = r.get<float>();
    }
    out.meta.related_inferences = out.related.data();
    out.meta.related_count = static_cast<std::uint32_t>(out.related.size());
    out.meta.extensions = out.extensions.data();
    out.meta.extension_count = static_cast<std::uint32_t>(out.extensions.size());
    out.meta.attributes = out.attributes.data();
    out.meta.attribute_count = static_cast<std::uint32_t>(out.attributes.size());
    return out;
}

ava_box get_box(Reader& r)
{
    ava_box box{};
    box.l = r.get<float>();
    box.t = r.get<float>();
    box.w = r.get<float>();
    box.h = r.get<float>();
    return box;
}

RecordingSink& self(void* context) { return *static_cast<RecordingSink*>(context); }

} // namespace

// The log's own limit, far above what the collector lets through (4 MiB of strings plus 64 bytes per
// inference) and below the protocol's message limit: only a flood of empty strings could reach it.
constexpr std::size_t max_log_bytes = std::size_t{12} << 20;

RecordingSink::RecordingSink(std::string_view analyzer) : collector_(analyzer)
{
    sink_.struct_size = sizeof sink_;
    sink_.context = this;
    sink_.classification = [](void* c, const ava_inference_meta* meta, const char* value, float confidence) {
        auto& s = self(c);
        return s.record(
            classification, meta,
            [&](const ava_result_sink& k) { return k.classification(k.context, meta, value, confidence); },
            [&](Writer& w) { w.put_optional(value).put(confidence); });
    };
    sink_.entity = [](void* c, const ava_inference_meta* meta, const char* tag, float confidence, ava_box box,
                      const char* id) {
        return self(c).record(
            entity, meta, [&](const ava_result_sink& k) { return k.entity(k.context, meta, tag, confidence, box, id); },
            [&](Writer& w) {
                w.put_optional(tag).put(confidence);
                put_box(w, box);
                w.put_optional(id);
            });
    };
    sink_.motion = [](void* c, const ava_inference_meta* meta, ava_box box) {
        return self(c).record(
            motion, meta, [&](const ava_result_sink& k) { return k.motion(k.context, meta, box); },
            [&](Writer& w) { put_box(w, box); });
    };
    sink_.event = [](void* c, const ava_inference_meta* meta, const char* name, const ava_key_value* properties,
                     uint32_t count) {
        return self(c).record(
            event, meta, [&](const ava_result_sink& k) { return k.event(k.context, meta, name, properties, count); },
            [&](Writer& w) {
                w.put_optional(name);
                const auto n = properties != nullptr ? count : 0;
                w.put(n);
                for (std::uint32_t i = 0; i < n; ++i) {
                    w.put_optional(properties[i].key).put_optional(properties[i].value);
                }
            });
    };
    sink_.text = [](void* c, const ava_inference_meta* meta, const char* value, const char* language,
                    uint64_t start, uint64_t end) {
        return self(c).record(
            text, meta,
            [&](const ava_result_sink& k) { return k.text(k.context, meta, value, language, start, end); },
            [&](Writer& w) { w.put_optional(value).put_optional(language).put(start).put(end); });
    };
    sink_.other = [](void* c, const ava_inference_meta* meta, const char* content_type, const void* content,
                     size_t size) {
        return self(c).record(
            other, meta,
            [&](const ava_result_sink& k) { return k.other(k.context, meta, content_type, content, size); },
            [&](Writer& w) {
                w.put_optional(content_type);
                w.put(static_cast<std::uint8_t>(content != nullptr));
                if (content != nullptr) {
                    w.put_string(std::string_view(static_cast<const char*>(content), size));
                }
            });
    };
}

template <typename Forward, typename Record>
ava_status RecordingSink::record(std::uint8_t kind, const ava_inference_meta* meta, Forward&& forward,
                                 Record&& fields) noexcept
{
    std::lock_guard lock(mutex_);
    if (!open_) {
        late_calls_.fetch_add(1);
        return AVA_STATUS_INVALID_ARGUMENT;
    }
    const auto status = forward(collector_.sink());
    if (status != AVA_STATUS_OK) {
        return status; // refused as the host would refuse it: not recorded
    }
    try {
        Writer one;
        one.put(kind);
        put_meta(one, meta);
        fields(one);
        if (log_.size() + one.size() > max_log_bytes) {
            over_cap_ = true;
            return AVA_STATUS_OUT_OF_MEMORY;
        }
        log_.put(static_cast<std::uint32_t>(one.size()));
        log_.put_raw(one.bytes());
        return AVA_STATUS_OK;
    } catch (...) {
        over_cap_ = true;
        return AVA_STATUS_OUT_OF_MEMORY;
    }
}

std::string RecordingSink::close()
{
    std::lock_guard lock(mutex_);
    open_ = false;
    collector_.discard(); // the log carries the answer; closed sinks are kept a while (late emits)
    return log_.take();
}

std::string RecordingSink::last_rejection() const
{
    std::lock_guard lock(mutex_);
    return collector_.last_rejection();
}

std::string RecordingSink::too_large() const
{
    std::lock_guard lock(mutex_);
    if (collector_.over_cap()) {
        return collector_.last_rejection();
    }
    return over_cap_ ? "the recorded answer went over " + std::to_string(max_log_bytes) + " bytes" : "";
}

std::size_t replay(std::string_view log, const ava_result_sink& sink)
{
    Reader records(log);
    std::size_t calls = 0;
    while (!records.done()) {
        Reader r(records.get_string());
        Strings s(r);
        const auto kind = r.get<std::uint8_t>();
        const auto meta = get_meta(r, s, log.size());
        const ava_inference_meta* m = meta ? &meta->meta : nullptr;
        switch (kind) {
        case classification: {
            const char* value = s.optional();
            sink.classification(sink.context, m, value, r.get<float>());
            break;
        }
        case entity: {
            const char* tag = s.optional();
            const auto confidence = r.get<float>();
            const auto box = get_box(r);
            sink.entity(sink.context, m, tag, confidence, box, s.optional());
            break;
        }
        case motion:
            sink.motion(sink.context, m, get_box(r));
            break;
        case event: {
            const char* name = s.optional();
            std::vector<ava_key_value> properties(bounded_count(r, log.size()));
            for (auto& kv : properties) {
                kv.key = s.optional();
                kv.value = s.optional();
            }
            sink.event(sink.context, m, name, properties.data(), static_cast<std::uint32_t>(properties.size()));
            break;
        }
        case text: {
            const char* value = s.optional();
            const char* language = s.optional();
            const auto start = r.get<std::uint64_t>();
            sink.text(sink.context, m, value, language, start, r.get<std::uint64_t>());
            break;
        }
        case other: {
            const char* content_type = s.optional();
            std::string_view content;
            const bool present = r.get_present();
            if (present) {
                content = r.get_string();
            }
            sink.other(sink.context, m, content_type, present ? content.data() : nullptr, content.size());
            break;
        }
        default:
            throw WireError("result log: unknown call kind " + std::to_string(kind));
        }
        ++calls;
    }
    return calls;
}

} // namespace ava::isolation
