#pragma once
// LoadOptions: what one ava-loadgen run does, parsed from its command line.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ava::loadgen {

enum class Protocol { grpc, http };
enum class Transfer { embedded, shared_memory };
enum class Encoding { raw, jpg, bmp };
enum class PixelFormat { bgr24, rgb24 };

struct LoadOptions {
    Protocol protocol = Protocol::grpc;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;

    unsigned streams = 1;       // gRPC streams, or HTTP connections
    double fps = 0;             // per stream; 0 = as fast as the server acknowledges
    double duration_s = 0;      // run length (0: use frames)
    std::uint64_t frames = 0;   // frames per stream (0: use duration)
    double warmup_s = 0;        // frames sent before this are checked but not measured
    double timeout_s = 30;      // longest wait for any one answer
    unsigned io_threads = 0;    // HTTP I/O threads (0: 2, or 1 on a single core)

    Encoding encoding = Encoding::raw;
    PixelFormat pixel_format = PixelFormat::bgr24;
    std::uint32_t width = 416;
    std::uint32_t height = 416;
    std::string image_file; // optional picture, resized to width x height; synthetic pattern otherwise

    // gRPC
    Transfer transfer = Transfer::embedded;
    unsigned window = 4;         // frames in flight per stream
    unsigned shm_slots = 0;      // slots in each stream's shared-memory ring (0: window)
    bool shm_write_each = false; // copy the frame into its slot before every send (as a camera pipeline does)
    std::string extension_configuration;
    std::string pipeline_prefix = "loadgen"; // graph_instance_name = <prefix>-<stream>
    std::string username;
    std::string password;

    // HTTP
    std::string path = "/score";
    std::vector<int> expect_status = {200, 204};

    bool json = false;
    bool quiet = false; // no progress line a second on stderr
    pid_t host_pid = 0;
};

// Parses argv; returns nullopt after printing help (--help). Throws std::invalid_argument with a message
// naming the bad option.
std::optional<LoadOptions> parse_options(int argc, const char* const* argv);

std::string name_of(Protocol p);
std::string name_of(Transfer t);
std::string name_of(Encoding e);
std::string name_of(PixelFormat f);

} // namespace ava::loadgen
