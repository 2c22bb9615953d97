#pragma once
// The host's log line formats, one from the first line on:
//   text: 2026-11-30T10:47:39.060 info [1234] message
//   json: {"time":"2026-11-30T10:47:39.060Z","level":"info","thread":1234,"message":"...",
//          "pipeline":"...","node":"...","analyzer":"...","route":"...","requestId":"...","peer":"..."}
//         one object a line; each field after "message" only when the line is about a frame or stream that
//         has it (runtime/log_context.h)

#include <string_view>

namespace ava::runtime {

// "text" or "json"; anything else is refused by the command line before it gets here.
void use_log_format(std::string_view format);

// The --log-format value among the raw arguments, if any: main() applies it before parsing anything, so even
// a refused configuration file is reported in the format asked for.
std::string_view log_format_argument(int argc, const char* const argv[]) noexcept;

} // namespace ava::runtime
