#include "worker_hello.h"

#include "inferences/utf8.h"
#include "loading/plugin_library.h"

namespace ava::isolation {
namespace {

[[noreturn]] void refuse(const std::string& what)
{
    throw WireError("the worker's hello " + what);
}

// The worker's reason as one printable log line of at most max_refusal_bytes.
std::string refusal_text(std::string_view sent)
{
    std::string text(sent.substr(0, max_refusal_bytes));
    inferences::repair_utf8(text); // each invalid byte becomes 3: cut again below
    for (auto& c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == '\x7f') {
            c = ' ';
        }
    }
    if (text.size() > max_refusal_bytes) {
        auto end = max_refusal_bytes;
        while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
            --end; // not inside a character
        }
        text.resize(end);
    }
    return text;
}

} // namespace

bool WorkerHello::same_plugin(const WorkerHello& other) const
{
    return name == other.name && version == other.version && description == other.description &&
           abi_major == other.abi_major && abi_minor == other.abi_minor && concurrency == other.concurrency &&
           configuration_schema == other.configuration_schema && parameters_schema == other.parameters_schema &&
           input_pixel_formats == other.input_pixel_formats && input_min_width == other.input_min_width &&
           input_min_height == other.input_min_height && input_flags == other.input_flags;
}

WorkerHello read_hello(const Message& message, const std::filesystem::path& private_copy)
{
    if (message.header.kind != MessageKind::hello) {
        refuse("is missing: the first message was of kind " +
               std::to_string(static_cast<std::uint32_t>(message.header.kind)));
    }
    Reader r(message.payload);
    if (!r.get_present()) {
        throw WorkerLoadRefused(refusal_text(r.get_string()));
    }
    WorkerHello hello;
    hello.name = r.get_string();
    hello.version = r.get_string();
    hello.description = r.get_string();
    hello.loaded_path = std::filesystem::path(std::string(r.get_string()));
    hello.abi_major = r.get<std::uint32_t>();
    hello.abi_minor = r.get<std::uint32_t>();
    const auto concurrency = r.get<std::int32_t>();
    for (auto* schema : {&hello.configuration_schema, &hello.parameters_schema}) {
        if (r.get_present()) {
            *schema = std::string(r.get_string());
        }
    }
    for (auto* field : {&hello.input_pixel_formats, &hello.input_min_width, &hello.input_min_height, &hello.input_flags}) {
        *field = r.get<std::uint32_t>();
    }
    if (!r.done()) {
        refuse("has bytes after its last field");
    }
    if (hello.abi_major != AVA_PLUGIN_ABI_MAJOR) {
        refuse("says ABI major " + std::to_string(hello.abi_major) + ", which no worker of this host loads");
    }
    try {
        loading::check_identity("the plugin", hello.name.c_str(), hello.version.c_str());
        loading::check_concurrency("the plugin", concurrency);
    } catch (const loading::PluginLoadError& e) {
        refuse(std::string("is not one a loader sends: ") + e.what());
    }
    hello.concurrency = static_cast<ava_concurrency>(concurrency);
    inferences::repair_utf8(hello.description);
    if (hello.loaded_path != private_copy) {
        refuse("names a loaded copy other than the one the host told the worker to make");
    }
    return hello;
}

} // namespace ava::isolation
