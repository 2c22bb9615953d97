// Builds the ava_inference_meta of one inference with owned attribute strings (the ABI takes C strings valid
// for the duration of the sink call, so the builder must outlive the emit).
#ifndef AVA_COMMON_META_HPP
#define AVA_COMMON_META_HPP

#include <ava_plugin.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace ava::common {

class Meta {
public:
    explicit Meta(std::string subtype) : subtype_(std::move(subtype)) {}

    Meta& attribute(std::string name, std::string value, float confidence = -1.0F)
    {
        attributes_.push_back({std::move(name), std::move(value), confidence});
        return *this;
    }
    // A number as an attribute value, with enough digits for normalised coordinates (1e-4 of the frame).
    Meta& attribute(std::string name, double value, float confidence = -1.0F)
    {
        char text[32];
        std::snprintf(text, sizeof text, "%.4f", value);
        return attribute(std::move(name), std::string(text), confidence);
    }

    // The ABI view; valid while this builder lives and is not changed.
    const ava_inference_meta* get()
    {
        view_.clear();
        view_.reserve(attributes_.size());
        for (const auto& a : attributes_) {
            view_.push_back(ava_attribute{a.name.c_str(), a.value.c_str(), a.confidence});
        }
        meta_ = ava_inference_meta{};
        meta_.struct_size = sizeof meta_;
        meta_.subtype = subtype_.empty() ? nullptr : subtype_.c_str();
        meta_.attributes = view_.empty() ? nullptr : view_.data();
        meta_.attribute_count = static_cast<uint32_t>(view_.size());
        return &meta_;
    }

private:
    struct Owned {
        std::string name;
        std::string value;
        float confidence;
    };
    std::string subtype_;
    std::vector<Owned> attributes_;
    std::vector<ava_attribute> view_;
    ava_inference_meta meta_{};
};

} // namespace ava::common

#endif
