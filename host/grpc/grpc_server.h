#pragma once
// GrpcServer: the gRPC extension front-end (MediaGraphExtension.ProcessMediaStream).

#include "live/telemetry.h"
#include "routing/router.h"
#include "runtime/frame_workers.h"
#include "runtime/host_options.h"

#include <cstdint>
#include <memory>

namespace ava::grpc_frontend {

class GrpcServer {
public:
    GrpcServer(const runtime::HostOptions& options, const routing::Router& router, runtime::FrameWorkers& workers,
               live::Telemetry* telemetry = nullptr);
    GrpcServer(const GrpcServer&) = delete;
    GrpcServer& operator=(const GrpcServer&) = delete;
    ~GrpcServer();

    // Binds and starts serving; returns the bound port. Throws std::runtime_error when it cannot bind.
    std::uint16_t start();
    // Stops taking new streams; open streams finish the frames they have in flight.
    void stop();
    std::size_t open_streams() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace ava::grpc_frontend
