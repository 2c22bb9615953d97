// ava_plugin_cpp.hpp — optional header-only C++ convenience layer over ava_plugin.h for plugin authors.
//
// It turns two C++ classes into the C function table, so a plugin never lets an exception cross the ABI:
//
//   struct MySession  { void process(const ava_frame& frame, ava::plugin::Results& out); };
//   struct MyInstance {
//       explicit MyInstance(std::string_view config_json);
//       std::unique_ptr<MySession> open_stream(const ava_stream_info& info);
//   };
//   static const ava_plugin_descriptor descriptor =
//       ava::plugin::make_descriptor<MyInstance, MySession>("name", "1.0.0", "what it does",
//                                                          AVA_CONCURRENCY_PER_SESSION);
//   AVA_PLUGIN_DEFINE_ENTRY(&descriptor)
//
// Throw ava::plugin::Error(AVA_STATUS_INVALID_ARGUMENT, "...") for bad parameters; any other exception
// becomes AVA_STATUS_INTERNAL with its what() as the message.
#ifndef AVA_PLUGIN_CPP_HPP
#define AVA_PLUGIN_CPP_HPP

#include "ava_plugin.h"

#include <cstdio>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ava::plugin {

class Error : public std::runtime_error {
public:
    Error(ava_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    ava_status status() const noexcept { return status_; }

private:
    ava_status status_;
};

inline void write_error(ava_error* error, const char* message) noexcept
{
    if (error != nullptr) {
        std::snprintf(error->message, sizeof error->message, "%s", message);
    }
}

// Runs body, converting every exception into a status code and an error message.
template <typename Body>
ava_status guarded(ava_error* error, Body&& body) noexcept
{
    try {
        body();
        return AVA_STATUS_OK;
    } catch (const Error& e) {
        write_error(error, e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        write_error(error, "out of memory");
        return AVA_STATUS_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        write_error(error, e.what());
        return AVA_STATUS_INTERNAL;
    } catch (...) {
        write_error(error, "unknown exception");
        return AVA_STATUS_INTERNAL;
    }
}

// Typed face of the host's result sink. A failed emit (host rejected the value) throws Error.
class Results {
public:
    explicit Results(const ava_result_sink& sink) : sink_(sink) {}

    void classification(const char* value, float confidence, const ava_inference_meta* meta = nullptr)
    {
        check(sink_.classification(sink_.context, meta, value, confidence), "classification");
    }
    void entity(const char* tag, float confidence, ava_box box, const char* id = nullptr,
                const ava_inference_meta* meta = nullptr)
    {
        check(sink_.entity(sink_.context, meta, tag, confidence, box, id), "entity");
    }
    void motion(ava_box box, const ava_inference_meta* meta = nullptr)
    {
        check(sink_.motion(sink_.context, meta, box), "motion");
    }
    void event(const char* name, const ava_key_value* properties, uint32_t count,
               const ava_inference_meta* meta = nullptr)
    {
        check(sink_.event(sink_.context, meta, name, properties, count), "event");
    }
    void text(const char* value, const char* language, uint64_t start, uint64_t end,
              const ava_inference_meta* meta = nullptr)
    {
        check(sink_.text(sink_.context, meta, value, language, start, end), "text");
    }
    void other(const char* content_type, const void* content, size_t size, const ava_inference_meta* meta = nullptr)
    {
        check(sink_.other(sink_.context, meta, content_type, content, size), "other");
    }

    // Inference meta with only a subtype, the common case.
    static ava_inference_meta with_subtype(const char* subtype) noexcept
    {
        ava_inference_meta meta{};
        meta.struct_size = sizeof meta;
        meta.subtype = subtype;
        return meta;
    }

private:
    static void check(ava_status status, const char* what)
    {
        if (status != AVA_STATUS_OK) {
            throw Error(status, std::string("host rejected the ") + what + " inference");
        }
    }
    const ava_result_sink& sink_;
};

template <typename Instance, typename Session>
struct Exports {
    static ava_status create(const char* config_json, void** instance, ava_error* error) noexcept
    {
        return guarded(error, [&] {
            *instance = std::make_unique<Instance>(std::string_view(config_json != nullptr ? config_json : "{}"))
                            .release();
        });
    }
    static void destroy(void* instance) noexcept { std::unique_ptr<Instance>(static_cast<Instance*>(instance)); }
    static ava_status open_stream(void* instance, const ava_stream_info* info, void** session,
                                  ava_error* error) noexcept
    {
        return guarded(error, [&] { *session = static_cast<Instance*>(instance)->open_stream(*info).release(); });
    }
    static void close_stream(void* session) noexcept { std::unique_ptr<Session>(static_cast<Session*>(session)); }
    static ava_status process(void* session, const ava_frame* frame, const ava_result_sink* sink,
                              ava_error* error) noexcept
    {
        return guarded(error, [&] {
            Results results(*sink);
            static_cast<Session*>(session)->process(*frame, results);
        });
    }
};

// The input the analyzer needs (ABI 1.2; see input_* in ava_plugin.h). The default declares nothing.
//   ava::plugin::Input{.pixel_formats = AVA_PIXEL_FORMAT_BIT(AVA_PIXEL_FORMAT_GRAY8), .min_width = 64,
//                      .min_height = 64}
struct Input {
    uint32_t pixel_formats = 0;
    uint32_t min_width = 0;
    uint32_t min_height = 0;
    uint32_t flags = 0;
};

// configuration_schema / parameters_schema (ABI 1.1): JSON Schema texts the host checks create()'s
// configuration and open_stream()'s parameters against before calling the plugin; nullptr: none declared.
template <typename Instance, typename Session>
constexpr ava_plugin_descriptor make_descriptor(const char* name, const char* version, const char* description,
                                                ava_concurrency concurrency,
                                                const char* configuration_schema = nullptr,
                                                const char* parameters_schema = nullptr, Input input = {}) noexcept
{
    using E = Exports<Instance, Session>;
    return ava_plugin_descriptor{AVA_PLUGIN_ABI_MAJOR,
                                 AVA_PLUGIN_ABI_MINOR,
                                 sizeof(ava_plugin_descriptor),
                                 name,
                                 version,
                                 description,
                                 concurrency,
                                 &E::create,
                                 &E::destroy,
                                 &E::open_stream,
                                 &E::close_stream,
                                 &E::process,
                                 configuration_schema,
                                 parameters_schema,
                                 nullptr,
                                 input.pixel_formats,
                                 input.min_width,
                                 input.min_height,
                                 input.flags};
}

} // namespace ava::plugin

#endif // AVA_PLUGIN_CPP_HPP
