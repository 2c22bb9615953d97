#pragma once
// UTF-8 validation for text an analyzer emits. JSON and proto3 `string` fields must be valid UTF-8: one
// stray 0xFF makes the HTTP body invalid JSON and makes a gRPC client's deserializer fail (ending the
// stream), so the host repairs text before any writer sees it.

#include <cstddef>
#include <string>
#include <string_view>

namespace ava::inferences {

// Replaces every invalid sequence in `text` with U+FFFD (EF BF BD), one per maximal invalid subpart
// (Unicode's recommended practice, as in the WHATWG decoder and ICU): overlong forms, surrogates
// (D800-DFFF), code points over U+10FFFF, stray continuation bytes and truncated sequences. We replace
// rather than refuse the inference: the rest of the analyzer's answer stays usable and the damage is
// visible. Returns how many replacements were made (0: `text` was valid and is unchanged).
std::size_t repair_utf8(std::string& text);

// True when `text` is entirely valid UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;

} // namespace ava::inferences
