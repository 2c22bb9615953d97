#pragma once
// Client input quoted back in an error status or a log line: never more than a short prefix (a 70 KB
// name must not become a 70 KB trailer or log line), and control bytes escaped so a client cannot forge
// log lines.

#include <cstddef>
#include <string>
#include <string_view>

namespace ava::security {

constexpr std::size_t max_quoted_bytes = 200;

// The first `max` bytes of `text`, with control characters and backslashes escaped; when cut, says how
// long the whole was: "abc…(70000 bytes)".
std::string client_text(std::string_view text, std::size_t max = max_quoted_bytes);

} // namespace ava::security
