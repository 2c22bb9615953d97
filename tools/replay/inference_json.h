// The inferences of one acknowledged frame as a JSON object, in the published AVA inference metadata shape
// (the same as the host's HTTP answers): {"inferences":[{"type":"entity","subtype":..,"entity":{..}}]}.
#ifndef AVA_REPLAY_INFERENCE_JSON_H
#define AVA_REPLAY_INFERENCE_JSON_H

#include "media_stream_client.h"

#include <string>

namespace ava::replay {

// One JSON line: {"frame":N,"sequence":S,"timestamp":T,"latencyMs":L,"inferences":[...]}.
std::string json_line(uint64_t frame_index, const Ack& ack);

} // namespace ava::replay

#endif
