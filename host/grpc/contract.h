#pragma once
// The generated AVA gRPC contract types, under a short name for the front-end.

#include <extension.grpc.pb.h>
#include <extension.pb.h>

#include <grpcpp/support/status.h>

#include <stdexcept>
#include <string>

namespace ava::grpc_frontend {

namespace contract = microsoft::azure::media::live_video_analytics::extensibility::grpc::v1;

// Ends a stream with this status; what() is the message the pipeline shows its operator.
class StreamError : public std::runtime_error {
public:
    StreamError(grpc::StatusCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    grpc::StatusCode code() const noexcept { return code_; }
    grpc::Status status() const { return {code_, what()}; }

private:
    grpc::StatusCode code_;
};

} // namespace ava::grpc_frontend
