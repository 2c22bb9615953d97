#pragma once
// gRPC load: N concurrent ProcessMediaStream calls, one channel (connection) each, as N live pipelines
// would open. Callback API: no thread per stream; gRPC's own small pool runs every stream's reactions.

#include "frame_payload.h"
#include "load_options.h"
#include "run_plan.h"
#include "run_stats.h"

namespace ava::loadgen {

// Runs every stream to its end (all frames acknowledged and the call closed, or failed) and returns
// what they counted, merged.
RunStats run_grpc_load(const LoadOptions& options, const FramePayload& payload, const RunPlan& plan);

} // namespace ava::loadgen
