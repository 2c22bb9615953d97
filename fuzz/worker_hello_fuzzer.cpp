// Fuzz target: the hello an analyzer worker sends (isolation/worker_hello.h). A plugin's constructors can
// write it themselves, so the host reads it as hostile input: read_hello() must throw WireError or
// WorkerLoadRefused on anything malformed and never read out of bounds; what it accepts must hold what the
// host relies on (a printable name, a known concurrency, the loaded copy the host named), and the
// schemas and declared input in it must be checked, not crash, as the host checks them next.
#include "inferences/utf8.h"
#include "isolation/worker_hello.h"
#include "loading/plugin_library.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::filesystem::path private_copy = "/tmp/ava-fuzz-shadow/libcolor_intensity.1.0.so";
    ava::isolation::Message message;
    message.header.kind = ava::isolation::MessageKind::hello;
    message.payload.assign(reinterpret_cast<const char*>(data), size);
    ava::isolation::WorkerHello hello;
    try {
        hello = ava::isolation::read_hello(message, private_copy);
    } catch (const ava::isolation::WorkerLoadRefused& e) {
        const std::string_view reason = e.what(); // one printable log line of bounded length
        if (reason.size() > ava::isolation::max_refusal_bytes || !ava::inferences::is_valid_utf8(reason) ||
            reason.find_first_of(std::string_view("\0\n\r\x1b", 4)) != std::string_view::npos) {
            std::abort();
        }
        return 0;
    } catch (const ava::isolation::WireError&) {
        return 0;
    }
    if (hello.name.empty() || hello.name.size() > ava::loading::max_identity_bytes ||
        hello.loaded_path != private_copy || hello.concurrency < AVA_CONCURRENCY_SERIAL ||
        hello.concurrency > AVA_CONCURRENCY_FULL || hello.abi_major != AVA_PLUGIN_ABI_MAJOR) {
        std::abort(); // accepted something the host must not rely on
    }
    try {
        for (const auto& [field, text] : {std::pair{"configuration_schema", &hello.configuration_schema},
                                          std::pair{"parameters_schema", &hello.parameters_schema}}) {
            if (*text) {
                ava::loading::declared_schema("fuzz", field, std::string_view(**text));
            }
        }
        ava::loading::declared_input("fuzz", hello.input_pixel_formats, hello.input_min_width,
                                     hello.input_min_height, hello.input_flags);
    } catch (const ava::loading::PluginLoadError&) {
    }
    return 0;
}
