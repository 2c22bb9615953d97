#pragma once
// HTTP load: M keep-alive connections, each posting the frame, reading the answer and posting again
// (HTTP/1.1 has one request in flight per connection), on a couple of Boost.Asio I/O threads.

#include "frame_payload.h"
#include "load_options.h"
#include "run_plan.h"
#include "run_stats.h"

namespace ava::loadgen {

RunStats run_http_load(const LoadOptions& options, const FramePayload& payload, const RunPlan& plan);

} // namespace ava::loadgen
