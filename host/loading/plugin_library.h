#pragma once
// PluginLibrary: one loaded plugin .so, its ABI checked, kept alive by shared_ptr for as long as any
// analyzer instance or session made from it exists (hot reload unloads a version only when unused).

#include "parameter_schema.h"

#include "frames/input_request.h"

#include <ava_plugin.h>

#include <boost/dll/shared_library.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace ava::loading {

// Why a plugin was refused; what() is the one log line an operator needs.
class PluginLoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class PluginLibrary {
    struct Key { explicit Key() = default; }; // only load() can name it, so only load() constructs

public:
    // Shadow-copies `source` into `shadow_dir` under a unique name, dlopens the copy, looks up the entry
    // symbol and checks the ABI. Loading a private copy means a second version of the same file gets a new
    // handle (dlopen of the same path would return the old one) and overwriting the file in the plugins
    // folder can never change code that is running. Messages and source() name `shown_as` when given (an
    // analyzer worker loads its version's copy, see isolation/version_copy.h); `copy_as`, when given, is
    // the private copy's path (an analyzer worker's is named by the host). Throws PluginLoadError.
    static std::shared_ptr<PluginLibrary> load(const std::filesystem::path& source,
                                               const std::filesystem::path& shadow_dir,
                                               const std::filesystem::path& shown_as = {},
                                               const std::filesystem::path& copy_as = {});

    PluginLibrary(const PluginLibrary&) = delete;
    PluginLibrary& operator=(const PluginLibrary&) = delete;
    ~PluginLibrary();

    const ava_plugin_descriptor& descriptor() const noexcept { return *descriptor_; }
    std::string name() const { return descriptor_->name; }
    std::string version() const { return descriptor_->version; }
    std::string description() const { return descriptor_->description != nullptr ? descriptor_->description : ""; }
    std::string abi_version() const;
    const std::filesystem::path& source() const noexcept { return source_; }
    const std::filesystem::path& loaded_path() const noexcept { return shadow_; }
    std::chrono::system_clock::time_point load_time() const noexcept { return load_time_; }
    // ABI 1.1's declared schemas, compiled at load (nullptr: none declared, or a 1.0 plugin).
    const std::shared_ptr<const ParameterSchema>& configuration_schema() const noexcept { return configuration_schema_; }
    const std::shared_ptr<const ParameterSchema>& parameters_schema() const noexcept { return parameters_schema_; }
    // ABI 1.2's declared input, checked at load (nothing declared for an older plugin).
    const frames::InputRequest& input() const noexcept { return input_; }

    PluginLibrary(Key, std::filesystem::path source, std::filesystem::path shadow);

private:

    std::filesystem::path source_;
    std::filesystem::path shadow_;
    boost::dll::shared_library library_;
    const ava_plugin_descriptor* descriptor_ = nullptr;
    std::chrono::system_clock::time_point load_time_;
    std::shared_ptr<const ParameterSchema> configuration_schema_;
    std::shared_ptr<const ParameterSchema> parameters_schema_;
    frames::InputRequest input_;
};

// A schema declared by a plugin, compiled; a bad one refuses the plugin (PluginLoadError naming `where` and
// which schema). Shared by the in-process loader and the host's reading of an isolated worker's hello.
std::shared_ptr<const ParameterSchema> declared_schema(const std::string& where, const char* field, const char* text);
std::shared_ptr<const ParameterSchema> declared_schema(const std::string& where, const char* field,
                                                       std::string_view text);
// A plugin's declared input (ABI 1.2 input_* fields), checked; a bad one refuses the plugin (PluginLoadError
// naming `where`). Shared like declared_schema.
frames::InputRequest declared_input(const std::string& where, std::uint32_t pixel_formats, std::uint32_t min_width,
                                    std::uint32_t min_height, std::uint32_t flags);

// A name in `dir` for a private copy of `source` that no other copy of this process has.
std::filesystem::path unique_copy_name(const std::filesystem::path& source, const std::filesystem::path& dir);
// Copies a plugin file; refuses it (PluginLoadError naming `where`, no copy left behind) when the copy
// fails or the file changed while it was being copied (a torn copy must never be loaded).
void copy_plugin_file(const std::filesystem::path& source, const std::filesystem::path& copy, const std::string& where);

// The longest name or version a plugin may declare.
inline constexpr std::size_t max_identity_bytes = 128;
// A plugin's name and version: non-empty printable UTF-8 of at most max_identity_bytes; and its concurrency:
// one the ABI defines. Each refuses the plugin (PluginLoadError naming `where`). Shared like declared_schema.
void check_identity(const std::string& where, const char* name, const char* version);
void check_concurrency(const std::string& where, int concurrency);

} // namespace ava::loading
