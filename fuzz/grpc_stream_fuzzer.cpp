// Fuzz target: gRPC extension messages as one ProcessMediaStream call sees them, without the network.
// Input: a sequence of messages, each <u32 little-endian length><serialized MediaStreamMessage>. The first
// goes through the handshake steps of host/grpc/media_stream.cpp (MediaStream::handshake): descriptor checks,
// frame_format_of(), Router::resolve_grpc(), the shared-memory mapping, open_session(); the rest through
// accept_sample() and analyse(): sequence checks, frame_of(), the analyzer, to_proto() into the reply.
// Shared memory is a file of this process's scratch folder (never /dev/shm).
//
// A better seam: the stream state machine without the gRPC reactor (e.g. a StreamSession with
// handshake(message) -> reply | status and sample(message) -> reply | status), which MediaStream would call;
// then this target would run the host's code instead of a copy of its steps.
#include "common/fuzz_env.h"

#include "frames/shared_memory_mapping.h"
#include "grpc/contract.h"
#include "grpc/frame_format.h"
#include "inferences/proto_writer.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

namespace {

namespace contract = ava::grpc_frontend::contract;
using ava::grpc_frontend::StreamError;

constexpr std::size_t max_messages = 16;
constexpr std::uint64_t shm_bytes = 1u << 20;

std::filesystem::path shm_folder()
{
    static const auto folder = [] {
        const auto f = ava::fuzz::environment().scratch / "shm";
        std::filesystem::create_directories(f);
        // One sender buffer holding a gradient: RAW frames of any format and size up to 1 MiB read from it.
        std::string bytes(shm_bytes, '\0');
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            bytes[i] = static_cast<char>((i * 7) ^ (i >> 9));
        }
        std::ofstream(f / "frames", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        return f;
    }();
    return folder;
}

// Splits the input into messages.
struct Reader {
    const std::uint8_t* data;
    std::size_t size;
    std::optional<std::string> next()
    {
        if (size == 0) {
            return std::nullopt;
        }
        std::uint32_t length = 0;
        const std::size_t header = std::min<std::size_t>(4, size);
        std::memcpy(&length, data, header);
        data += header;
        size -= header;
        const std::size_t take = std::min<std::size_t>(length, size);
        std::string out(reinterpret_cast<const char*>(data), take);
        data += take;
        size -= take;
        return out;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* input, std::size_t size)
{
    auto& env = ava::fuzz::environment();
    const auto shm = shm_folder();
    Reader reader{input, size};

    // Handshake.
    const auto first = reader.next();
    if (!first) {
        return 0;
    }
    contract::MediaStreamMessage message;
    if (!message.ParseFromString(*first) || !message.has_media_stream_descriptor()) {
        return 0; // INVALID_ARGUMENT
    }
    const auto& descriptor = message.media_stream_descriptor();
    if (!descriptor.has_media_descriptor()) {
        return 0;
    }
    ava::grpc_frontend::FrameFormat format;
    std::optional<ava::frames::SharedMemoryMapping> mapping;
    std::unique_ptr<ava::loading::AnalyzerSession> session;
    try {
        format = ava::grpc_frontend::frame_format_of(descriptor.media_descriptor());
        (void)format.describe();
        const std::string pipeline =
            descriptor.has_graph_identifier() ? descriptor.graph_identifier().graph_instance_name() : "";
        const auto route = env.router->resolve_grpc(descriptor.extension_configuration(), pipeline);
        if (descriptor.has_shared_memory_buffer_transfer_properties()) {
            const auto& shared = descriptor.shared_memory_buffer_transfer_properties();
            mapping = ava::frames::SharedMemoryMapping::open(shared.handle_name(), shared.length_bytes(), shm);
        }
        ava::loading::StreamInfo info;
        info.pipeline_name = pipeline;
        info.route = route.route;
        info.width = format.width;
        info.height = format.height;
        info.pixel_format = format.analyzer_format;
        info.timescale = descriptor.media_descriptor().timescale();
        info.parameters_json = route.parameters_json;
        session = route.analyzer->open_session(info);
    } catch (const StreamError&) {
        return 0;
    } catch (const ava::routing::RouteError&) {
        return 0;
    } catch (const ava::frames::SharedMemoryError&) {
        return 0;
    } catch (const ava::loading::AnalyzerError&) {
        return 0;
    }
    std::uint64_t last_sequence = message.sequence_number();

    // Samples, in order, until the stream would end.
    contract::MediaStreamMessage reply;
    for (std::size_t i = 1; i < max_messages; ++i) {
        const auto next = reader.next();
        if (!next) {
            break;
        }
        contract::MediaStreamMessage sample_message;
        if (!sample_message.ParseFromString(*next) || !sample_message.has_media_sample() ||
            sample_message.sequence_number() <= last_sequence) {
            break; // INVALID_ARGUMENT ends the stream
        }
        last_sequence = sample_message.sequence_number();
        try {
            const auto& sample = sample_message.media_sample();
            const auto frame = ava::grpc_frontend::frame_of(sample, format, mapping ? &*mapping : nullptr);
            const auto inferences = session->process(frame);
            auto& out = *reply.mutable_media_sample();
            out.set_timestamp(sample.timestamp());
            ava::inferences::to_proto(inferences, *out.mutable_inferences());
            reply.set_ack_sequence_number(last_sequence);
            std::string wire;
            AVA_FUZZ_CHECK(reply.SerializeToString(&wire), "the reply does not serialise");
            contract::MediaStreamMessage echoed;
            AVA_FUZZ_CHECK(echoed.ParseFromString(wire), "the pipeline could not parse our reply");
        } catch (const ava::frames::FrameError&) {
            break; // INVALID_ARGUMENT
        } catch (const ava::loading::AnalyzerError&) {
            break;
        }
    }
    return 0;
}
