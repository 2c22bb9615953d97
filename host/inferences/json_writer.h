#pragma once
// Writes inferences as the HTTP response body: {"inferences":[...]} following the published AVA inference
// metadata schema (lower-case type names, "subtype", per-type objects, base64 for "other" content).

#include "inference.h"

#include <string>

namespace ava::inferences {

std::string to_json(const InferenceList& inferences);

// {"error":{"code":..., "message":...}} — the body of every 4xx/5xx the host answers.
std::string error_json(std::string_view code, std::string_view message);

} // namespace ava::inferences
