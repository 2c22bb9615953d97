#pragma once
// Writes the host's inference model into the AVA gRPC contract's repeated Inference (MediaSample.inferences).

#include "inference.h"

#include <inferencing.pb.h>

#include <google/protobuf/repeated_ptr_field.h>

namespace ava::inferences {

namespace proto = microsoft::azure::media::live_video_analytics::extensibility::grpc::v1;

// Replaces the contents of `out` with `list`. Reuses the elements `out` already holds, so a reply message
// kept per stream slot does not allocate per frame once warm.
void to_proto(const InferenceList& list, google::protobuf::RepeatedPtrField<proto::Inference>& out);

void to_proto(const Inference& inference, proto::Inference& out);

} // namespace ava::inferences
