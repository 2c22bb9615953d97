#pragma once
// The hello an analyzer worker sends once it has loaded its plugin (or failed to), read by the host as
// hostile input: the plugin's constructors run in the worker before the hello is sent and can write to the
// control socket themselves, so a hello may be forged. The host therefore checks it as the in-process loader
// checks a descriptor, and the one path in it (the worker's private copy) must be the name the host gave
// the worker: the host removes that file when the worker ends, and never a path a worker chose.

#include "wire.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include <ava_plugin.h>

namespace ava::isolation {

// The plugin refused to load in the worker (the same messages as an in-process load).
class WorkerLoadRefused : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What the worker's hello says about the plugin it loaded.
struct WorkerHello {
    std::string name, version, description;
    std::filesystem::path loaded_path; // the worker's private copy: the name the host gave it
    std::uint32_t abi_major = 0, abi_minor = 0;
    ava_concurrency concurrency = AVA_CONCURRENCY_SERIAL;
    // ABI 1.1 schemas the plugin declared, as texts (nullopt: none); compiled again by the host.
    std::optional<std::string> configuration_schema, parameters_schema;
    // ABI 1.2 declared input, as the descriptor's four fields; checked again by the host.
    std::uint32_t input_pixel_formats = 0, input_min_width = 0, input_min_height = 0, input_flags = 0;

    // The same plugin as loaded before: everything but the private copy's path. A restarted worker loads
    // its version's copy again, so only a forged hello differs; the host must not then serve the version's
    // promises (concurrency, schemas, input) with other code.
    bool same_plugin(const WorkerHello& other) const;
};

// The longest refusal a worker may send that the host keeps (log lines and /analyzers show it).
inline constexpr std::size_t max_refusal_bytes = 4096;

// Reads the first message a worker sent on its control socket; the worker was told to copy the plugin to
// `private_copy`. Throws WorkerLoadRefused with the worker's reason when the plugin was refused (invalid
// UTF-8 repaired, control characters made spaces so it stays one log line, cut to max_refusal_bytes at a
// character boundary), and WireError when the message is not a well-formed hello or says what no loader
// accepts (another ABI major, an empty or unprintable name, an unknown concurrency, a copy other than
// `private_copy`). Schemas and the declared input are checked by the caller, as for an in-process load.
WorkerHello read_hello(const Message& message, const std::filesystem::path& private_copy);

} // namespace ava::isolation
