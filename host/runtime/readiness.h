#pragma once
// Readiness: what /readyz needs to know of the host beyond its configuration: which front-ends are bound
// and whether it is draining. Written by Host on its own thread, read by HTTP handlers on any.

#include <atomic>

namespace ava::runtime {

struct Readiness {
    bool http_enabled = true;
    bool grpc_enabled = true;
    std::atomic<bool> http_bound{false};
    std::atomic<bool> grpc_bound{false};
    std::atomic<bool> draining{false};
};

} // namespace ava::runtime
