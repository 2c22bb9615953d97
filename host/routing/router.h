#pragma once
// Router: picks the analyzer and parameters for an HTTP request or a gRPC stream.
//
// HTTP:  a configured route for the live pipeline (header x-ms-live-pipeline or query "pipeline"),
//        else a configured route for the path, else "/score" -> the default analyzer, else "/<analyzer>".
//        Other query parameters become analyzer parameters (numbers and true/false typed as JSON).
//        Intel's DL Streamer shape /<name>/<version> resolves like {"pipeline":{"name","version"}} below.
//        The query parameters "pipeline" and "stream-id" identify the stream and are not analyzer parameters.
// gRPC:  a configured route for the pipeline, else one whose extension_configuration matches exactly,
//        else the extension_configuration itself: "" or {} (default analyzer), a bare analyzer name, a JSON
//        object {"analyzer": "<name>", "parameters": {...}}, or Intel's DL Streamer shape
//        {"pipeline": {"name": "<name>", "version": "<version>", "parameters": {...}}, ...}: a route whose
//        alias is "<name>/<version>", else one whose alias is "<name>", else the analyzer <name> (whose
//        plugin version must then equal <version>, when one is given). Other members are ignored (logged).
// Request parameters are layered over the route's parameters.

#include "route_table.h"

#include "loading/analyzer_registry.h"

#include <rapidjson/document.h>

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ava::routing {

struct RouteTarget {
    std::shared_ptr<loading::Analyzer> analyzer;
    std::string parameters_json;
    std::string route; // how it was chosen, for logs and the analyzer's stream info
    Overload overload = Overload::queue;
};

class RouteError : public std::runtime_error {
public:
    enum class Kind { not_found, bad_request };
    RouteError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    Kind kind() const noexcept { return kind_; }

private:
    Kind kind_;
};

class Router {
public:
    Router(const loading::AnalyzerRegistry& registry, RouteTable table);

    RouteTarget resolve_http(std::string_view path, std::string_view query, std::string_view pipeline) const;
    RouteTarget resolve_grpc(std::string_view extension_configuration, std::string_view pipeline) const;

    void set_table(RouteTable table);
    std::shared_ptr<const RouteTable> table() const;

    // Analyzers the configuration names (routes, a configured defaultAnalyzer) that are not loaded now.
    std::vector<std::string> missing_analyzers() const;

    // Every path that reaches an analyzer now: for 404 bodies and the listing endpoint.
    std::vector<std::string> http_paths() const;

private:
    RouteTarget target_for(const Route& route, std::string_view request_parameters, std::string how) const;
    std::shared_ptr<loading::Analyzer> analyzer_named(std::string_view name, std::string_view how) const;
    // A name (and version) from Intel's configuration shape or path: aliases first, then analyzers.
    bool knows_name(const RouteTable& table, std::string_view name) const;
    RouteTarget resolve_intel_configuration(const RouteTable& table, const rapidjson::Document& doc,
                                            std::string_view text) const;
    RouteTarget resolve_name_version(const RouteTable& table, std::string_view name, std::string_view version,
                                     std::string_view parameters, std::string_view how) const;

    const loading::AnalyzerRegistry& registry_;
    mutable std::mutex table_mutex_; // guards the pointer swap only; tables themselves are immutable
    std::shared_ptr<const RouteTable> table_;
};

// Layers `overlay` (a JSON object) over `base` (a JSON object). Throws RouteError(bad_request).
std::string merge_json_objects(std::string_view base, std::string_view overlay);

// The decoded value of one query parameter, if present.
std::optional<std::string> query_value(std::string_view query, std::string_view name);

// "a=1&b=x%20y" -> {"a":1,"b":"x y"}, leaving out the stream-identifying "pipeline" and "stream-id".
// Throws RouteError(bad_request) on bad escapes.
std::string query_to_json(std::string_view query);

} // namespace ava::routing
