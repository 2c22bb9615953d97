#pragma once
// RouteTable: which analyzer (with which parameters) serves which URL path, extension_configuration value
// and live pipeline. Immutable once built; the Router swaps whole tables on reconfiguration, so a stream
// that resolved its route keeps it.

#include <optional>
#include <string>
#include <vector>

namespace ava::routing {

// What a gRPC stream does when its frames arrive faster than its analyzer finishes them.
//   queue:  every frame is analysed, in order; the wait grows up to the admission limits (the default).
//   latest: a waiting frame is skipped as soon as a newer one arrives, so the analyzer always takes the
//           newest; skipped frames are acknowledged with no inferences, in order behind the frame being
//           analysed (counted as skipped), so answers stay fresh.
enum class Overload { queue, latest };

struct Route {
    std::string analyzer;
    Overload overload = Overload::queue;
    std::string parameters_json = "{}"; // JSON object handed to the analyzer session
    // What selects this route; a route may carry several. Precedence when more than one matches a request:
    // live pipeline > HTTP path / extension_configuration > the default route.
    std::optional<std::string> http_path;               // e.g. "/faces"
    std::optional<std::string> extension_configuration; // exact string match
    std::optional<std::string> pipeline;                // live pipeline (graph_instance_name)
    // A name another extension used, "name" or "name/version" (Intel's DL Streamer pipelines, e.g.
    // "object_detection/person_vehicle_bike"): matched against {"pipeline":{"name","version"}} and against
    // HTTP paths /name/version, so an existing topology can be pointed at our analyzers without editing it.
    std::optional<std::string> alias;
};

struct RouteTable {
    std::string default_analyzer = "color_intensity"; // what "/score" and an empty extension_configuration reach
    std::string default_path = "/score";
    std::vector<Route> routes;
};

} // namespace ava::routing
