// bright_spot: a complete small analyzer plugin in C++, the starting point for your own (../README.md).
//
// It divides each frame into a grid, finds the brightest cell and, when that cell's mean luma reaches the
// threshold, answers an entity "bright_spot" with the cell's box. Parameters (JSON, read with
// ava_plugin_params.hpp): "threshold" (0..255, default 200) in the route's configuration or per stream
// (HTTP query: /bright_spot?threshold=180), "grid" (2..64 cells a side, default 8) in the configuration only.
//
// ava_plugin_cpp.hpp turns the two classes below into the C function table and keeps exceptions from
// crossing the ABI: throw ava::plugin::Error(AVA_STATUS_INVALID_ARGUMENT, "...") for a bad parameter.
#include <ava_plugin_cpp.hpp>
#include <ava_plugin_params.hpp>
#include <ava_plugin_pixels.h>

#include <memory>
#include <string_view>

namespace {

struct Settings {
    double threshold = 200;
    int grid = 8;
};

// One stream. Holds only its settings, so process() may run concurrently (AVA_CONCURRENCY_FULL).
class Session {
public:
    explicit Session(Settings settings) : settings_(settings) {}

    void process(const ava_frame& frame, ava::plugin::Results& out) const
    {
        if (ava_bytes_per_pixel(frame.pixel_format) == 0) {
            throw ava::plugin::Error(AVA_STATUS_UNSUPPORTED, "unsupported pixel format");
        }
        if (!ava_frame_is_readable(&frame)) {
            throw ava::plugin::Error(AVA_STATUS_INVALID_ARGUMENT, "malformed frame");
        }
        const auto cells = static_cast<std::uint32_t>(settings_.grid);
        double best = -1;
        std::uint32_t best_x = 0;
        std::uint32_t best_y = 0;
        for (std::uint32_t cy = 0; cy < cells; ++cy) {
            for (std::uint32_t cx = 0; cx < cells; ++cx) {
                const double mean = cell_mean(frame, cx, cy, cells);
                if (mean > best) {
                    best = mean;
                    best_x = cx;
                    best_y = cy;
                }
            }
        }
        if (best < settings_.threshold) {
            return; // nothing found: the host answers 204 (HTTP) or an empty inference list (gRPC)
        }
        // Normalised to the frame (0..1): the host scales nothing, and a box must lie within the frame.
        const float side = 1.0F / static_cast<float>(cells);
        const ava_box box{static_cast<float>(best_x) * side, static_cast<float>(best_y) * side, side, side};
        const auto meta = ava::plugin::Results::with_subtype("brightSpot");
        out.entity("bright_spot", static_cast<float>(best / 255.0), box, nullptr, &meta);
    }

private:
    // Mean luma of cell (cx, cy) from up to 8x8 samples.
    static double cell_mean(const ava_frame& frame, std::uint32_t cx, std::uint32_t cy, std::uint32_t cells)
    {
        constexpr std::uint32_t samples = 8;
        double sum = 0;
        for (std::uint32_t sy = 0; sy < samples; ++sy) {
            for (std::uint32_t sx = 0; sx < samples; ++sx) {
                const auto x = static_cast<std::uint32_t>((cx * samples + sx) * std::uint64_t{frame.width} / (cells * samples));
                const auto y = static_cast<std::uint32_t>((cy * samples + sy) * std::uint64_t{frame.height} / (cells * samples));
                sum += ava_pixel_luma(&frame, x, y);
            }
        }
        return sum / (samples * samples);
    }

    Settings settings_;
};

// One route's instance: its configuration, checked once at create() so a bad value fails at load time.
class Instance {
public:
    explicit Instance(std::string_view config_json)
    {
        config_.merge(config_json);
        config_.reject_unknown({"threshold", "grid"});
        read(config_); // validates now
    }

    std::unique_ptr<Session> open_stream(const ava_stream_info& info) const
    {
        ava::plugin::Parameters params = config_;
        params.merge(info.parameters_json != nullptr ? info.parameters_json : "{}");
        params.reject_unknown({"threshold", "grid"});
        Settings settings = read(params);
        settings.grid = read(config_).grid; // the grid is the operator's choice, not a caller's
        return std::make_unique<Session>(settings);
    }

private:
    static Settings read(const ava::plugin::Parameters& params)
    {
        Settings s;
        s.threshold = params.number("threshold", s.threshold, 0, 255);
        s.grid = params.integer("grid", s.grid, 2, 64);
        return s;
    }

    ava::plugin::Parameters config_;
};

// ABI 1.1: what the configuration and a stream may set, in JSON Schema. The host refuses a bad value with
// its own message before calling the plugin (the checks above stay for hosts of ABI 1.0) and shows both in
// GET /analyzers. "grid" is the operator's: only the configuration takes it.
constexpr const char* configuration_schema = R"json({"type": "object", "additionalProperties": false, "properties": {
    "threshold": {"type": "number", "minimum": 0, "maximum": 255, "description": "luma of a bright spot (default 200)"},
    "grid": {"type": "integer", "minimum": 2, "maximum": 64, "description": "cells a side (default 8)"}}})json";
constexpr const char* parameters_schema = R"json({"type": "object", "additionalProperties": false, "properties": {
    "threshold": {"type": "number", "minimum": 0, "maximum": 255, "description": "luma of a bright spot (default 200)"}}})json";

const ava_plugin_descriptor descriptor = ava::plugin::make_descriptor<Instance, Session>(
    "bright_spot", "1.0.0", "Finds the brightest region of a frame (template C++ analyzer)", AVA_CONCURRENCY_FULL,
    configuration_schema, parameters_schema);

} // namespace

AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
