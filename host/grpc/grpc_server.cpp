// Placeholder until the gRPC front-end lands: serves nothing.
#include "grpc_server.h"

#include <spdlog/spdlog.h>

namespace ava::grpc_frontend {

struct GrpcServer::Impl {};

GrpcServer::GrpcServer(const runtime::HostOptions&, const routing::Router&, runtime::FrameWorkers&) {}
GrpcServer::~GrpcServer() = default;
std::uint16_t GrpcServer::start()
{
    spdlog::warn("gRPC front-end not built yet");
    return 0;
}
void GrpcServer::stop() {}

} // namespace ava::grpc_frontend
