// Standard gRPC tooling against the real host: grpc.health.v1.Health (SERVING, then NOT_SERVING while the
// host drains) and server reflection listing the extension service. The messages are tiny and stable, so
// they are written and read by hand (Debian ships neither .proto).
#include "host_process.h"
#include "stream_client.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

namespace ava::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* extension_service = "microsoft.azure.media.live_video_analytics.extensibility.grpc.v1.MediaGraphExtension";

grpc::ByteBuffer buffer_of(const std::string& bytes)
{
    grpc::Slice slice(bytes);
    return grpc::ByteBuffer(&slice, 1);
}

std::string bytes_of(const grpc::ByteBuffer& buffer)
{
    std::vector<grpc::Slice> slices;
    (void)buffer.Dump(&slices);
    std::string out;
    for (const auto& slice : slices) {
        out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    return out;
}

// A length-delimited protobuf field (wire type 2) with a short value.
std::string string_field(int number, const std::string& value)
{
    return std::string(1, static_cast<char>(number << 3 | 2)) + static_cast<char>(value.size()) + value;
}

// grpc.health.v1.Health/Check: 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN; -1 when the call failed.
int health_of(std::uint16_t port, const std::string& service)
{
    grpc::GenericStub stub(make_channel(port));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    grpc::CompletionQueue queue;
    const auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                                            buffer_of(service.empty() ? "" : string_field(1, service)), &queue);
    call->StartCall();
    grpc::ByteBuffer reply;
    grpc::Status status;
    call->Finish(&reply, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    if (!queue.Next(&tag, &ok) || !ok || !status.ok()) {
        return status.error_code() == grpc::StatusCode::NOT_FOUND ? 3 : -1;
    }
    const auto bytes = bytes_of(reply);
    return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0; // status = 1 (varint)
}

TEST(GrpcOperability, HealthIsServingForTheHostAndTheExtensionService)
{
    HostProcess host({"--no-http"});
    EXPECT_EQ(health_of(host.grpc_port(), ""), 1);
    EXPECT_EQ(health_of(host.grpc_port(), extension_service), 1);
    EXPECT_EQ(health_of(host.grpc_port(), "no.such.Service"), 3);
}

TEST(GrpcOperability, HealthIsNotServingWhileTheHostDrains)
{
    TempDir plugins;
    copy_plugins(plugins.path(), {"libprobe.so"});
    HostProcess host({"--no-http"}, plugins.path());
    // A stream with slow frames in flight keeps the host draining for a while after SIGTERM.
    StreamClient client(make_channel(host.grpc_port()));
    DescriptorSpec spec;
    spec.extension_configuration = R"({"analyzer":"probe","parameters":{"mode":"slow"}})";
    MediaStreamMessage reply;
    ASSERT_TRUE(client.send(descriptor_message(spec)));
    ASSERT_TRUE(client.read(reply));
    const std::string frame = solid_raw_frame(64, 48, 64 * 3, {0, 0, 0});
    for (std::uint64_t i = 0; i < 4; ++i) {
        ASSERT_TRUE(client.send(embedded_sample(2 + i, i, frame)));
    }
    std::this_thread::sleep_for(100ms);
    ASSERT_EQ(::kill(host.pid(), SIGTERM), 0);
    bool not_serving = false;
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!not_serving && std::chrono::steady_clock::now() < deadline) {
        not_serving = health_of(host.grpc_port(), extension_service) == 2;
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(not_serving) << host.log();
    // The frames in flight are still acknowledged, then the stream ends UNAVAILABLE.
    int acked = 0;
    while (client.read(reply)) {
        ++acked;
    }
    EXPECT_GE(acked, 1);
    EXPECT_EQ(client.finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(GrpcOperability, ReflectionListsTheExtensionService)
{
    HostProcess host({"--no-http"});
    grpc::GenericStub stub(make_channel(host.grpc_port()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    grpc::CompletionQueue queue;
    const auto call = stub.PrepareCall(&context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
    void* tag = nullptr;
    bool ok = false;
    const auto step = [&](int expected) {
        EXPECT_TRUE(queue.Next(&tag, &ok));
        EXPECT_EQ(tag, reinterpret_cast<void*>(static_cast<std::intptr_t>(expected)));
        return ok;
    };
    call->StartCall(reinterpret_cast<void*>(1));
    ASSERT_TRUE(step(1));
    call->Write(buffer_of(string_field(7, "*")), reinterpret_cast<void*>(2)); // list_services = 7
    ASSERT_TRUE(step(2));
    grpc::ByteBuffer reply;
    call->Read(&reply, reinterpret_cast<void*>(3));
    ASSERT_TRUE(step(3));
    EXPECT_NE(bytes_of(reply).find(extension_service), std::string::npos);
    EXPECT_NE(bytes_of(reply).find("grpc.health.v1.Health"), std::string::npos);
    call->WritesDone(reinterpret_cast<void*>(4));
    step(4);
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(5));
    step(5);
    EXPECT_TRUE(status.ok()) << status.error_message();
}

} // namespace
} // namespace ava::test
