#include "grpc_server.h"

#include "media_stream.h"
#include "stream_registry.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/server_builder.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ava::grpc_frontend {
namespace {

// Least memory gRPC may use for buffers, all streams together (see start()).
constexpr std::size_t grpc_memory_quota_bytes = std::size_t{512} << 20;
// How long stop() lets open streams acknowledge their in-flight frames before cancelling them.
constexpr auto shutdown_grace = std::chrono::seconds(5);
// Once every stream has ended, how long their final statuses get to leave before connections are closed
// (gRPC would otherwise wait for each client to hang up, for the whole grace period).
constexpr auto flush_time = std::chrono::milliseconds(200);

// The raw (ByteBuffer) form of the method: MediaStream parses each message itself (see media_stream.h).
class ExtensionService final
    : public contract::MediaGraphExtension::WithRawCallbackMethod_ProcessMediaStream<
          contract::MediaGraphExtension::Service> {
public:
    explicit ExtensionService(StreamServices services) : services_(services) {}

    grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ProcessMediaStream(grpc::CallbackServerContext* context) override
    {
        return MediaStream::create(services_, context);
    }

private:
    StreamServices services_;
};

std::string read_file(const std::filesystem::path& path, const char* what)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error(std::string("gRPC TLS: cannot read the ") + what + " " + path.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::shared_ptr<grpc::ServerCredentials> credentials_of(const runtime::TlsFiles& tls)
{
    if (!tls.enabled()) {
        return grpc::InsecureServerCredentials();
    }
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back(
        {read_file(tls.private_key, "private key"), read_file(tls.certificate_chain, "certificate chain")});
    return grpc::SslServerCredentials(options);
}

std::string listen_address(const std::string& host, std::uint16_t port)
{
    const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

} // namespace

struct GrpcServer::Impl {
    Impl(const runtime::HostOptions& host_options, const routing::Router& router, runtime::FrameWorkers& workers,
         live::Telemetry* telemetry)
        : options(host_options),
          service(StreamServices{router, workers, host_options.credentials, registry, telemetry,
                                 host_options.max_consecutive_analyzer_errors})
    {
    }

    const runtime::HostOptions& options;
    StreamRegistry registry;
    ExtensionService service;
    std::unique_ptr<grpc::Server> server;
};

GrpcServer::GrpcServer(const runtime::HostOptions& options, const routing::Router& router,
                       runtime::FrameWorkers& workers, live::Telemetry* telemetry)
    : impl_(std::make_unique<Impl>(options, router, workers, telemetry))
{
}

GrpcServer::~GrpcServer() { stop(); }

std::size_t GrpcServer::open_streams() const { return impl_->registry.size(); }

std::uint16_t GrpcServer::start()
{
    const auto& options = impl_->options;
    const auto address = listen_address(options.bind_address, options.grpc_port);
    // grpc.health.v1.Health (overall, and for the extension service: NOT_SERVING while draining) and server
    // reflection, so standard gRPC tooling can probe, list and call the host.
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    int bound_port = 0;
    builder.AddListeningPort(address, credentials_of(options.grpc_tls), &bound_port);
    // gRPC's 4 MB default is smaller than one embedded 1080p RAW frame.
    builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<std::size_t>(options.grpc_max_message_bytes, INT_MAX)));
    // gRPC sets SO_REUSEPORT by default: a second host on the same port would then share it silently.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    // Caps what gRPC buffers for all streams together; under pressure it shrinks flow-control windows, so
    // many streams of big embedded frames wait at the sender instead of piling up here (64 x 1080p: RSS
    // 0.94 -> 0.64 GB at the same frame rate). Always room for several of the largest allowed messages.
    grpc::ResourceQuota quota("ava-extension-host");
    quota.Resize(std::max(grpc_memory_quota_bytes, 4 * options.grpc_max_message_bytes));
    builder.SetResourceQuota(quota);
    builder.RegisterService(&impl_->service);
    impl_->server = builder.BuildAndStart();
    if (!impl_->server || bound_port == 0) {
        impl_->server.reset();
        throw std::runtime_error("cannot listen for gRPC on " + address + " (is the port in use, or the address wrong?)");
    }
    if (auto* health = impl_->server->GetHealthCheckService()) {
        health->SetServingStatus(contract::MediaGraphExtension::service_full_name(), true);
    }
    return static_cast<std::uint16_t>(bound_port);
}

void GrpcServer::stop()
{
    if (!impl_->server) {
        return;
    }
    const auto open = impl_->registry.size();
    if (open != 0) {
        spdlog::info("gRPC: draining {} open stream(s)", open);
    }
    if (auto* health = impl_->server->GetHealthCheckService()) {
        health->SetServingStatus(false); // every service, before the streams are told to go elsewhere
    }
    impl_->registry.drain_all();
    if (!impl_->registry.wait_until_empty(std::chrono::steady_clock::now() + shutdown_grace)) {
        spdlog::warn("gRPC: {} stream(s) still busy after {} s: cancelling them", impl_->registry.size(),
                     shutdown_grace.count());
    }
    // Returns once every call is over: stragglers are cancelled, idle connections closed.
    impl_->server->Shutdown(std::chrono::system_clock::now() + flush_time);
    impl_->server.reset();
}

} // namespace ava::grpc_frontend
