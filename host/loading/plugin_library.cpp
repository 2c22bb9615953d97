#include "plugin_library.h"

#include "file_stamp.h"
#include "inferences/utf8.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

namespace ava::loading {
namespace {

// The smallest descriptor any ABI 1.x plugin can have: everything up to and including process().
constexpr std::size_t minimum_descriptor_size =
    offsetof(ava_plugin_descriptor, process) + sizeof(ava_plugin_descriptor::process);

bool looks_like_elf(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    in.read(magic, sizeof magic);
    return in.gcount() == sizeof magic && std::memcmp(magic, "\x7f" "ELF", 4) == 0;
}

// dlopen maps each loadable segment by file offset; a segment past the end of a truncated file becomes pages
// that raise SIGBUS when the loader touches them, killing the host. So every segment must be in the file.
// Returns what is wrong, or "" when the headers fit (other defects are dlopen's to report).
std::string truncation_of(const std::filesystem::path& path)
{
    constexpr unsigned char native_class = __ELF_NATIVE_CLASS == 64 ? ELFCLASS64 : ELFCLASS32;
    std::ifstream in(path, std::ios::binary);
    const auto size = static_cast<std::uint64_t>(std::filesystem::file_size(path));
    ElfW(Ehdr) header{};
    if (!in.read(reinterpret_cast<char*>(&header), sizeof header) || header.e_ident[EI_CLASS] != native_class) {
        return ""; // too short for a header, or another class: dlopen says so without mapping anything
    }
    const auto table_end = [](std::uint64_t offset, std::uint64_t count, std::uint64_t entry) {
        return offset + count * entry;
    };
    if (table_end(header.e_phoff, header.e_phnum, header.e_phentsize) > size) {
        return "its program headers end past the end of the file";
    }
    if (header.e_phentsize != sizeof(ElfW(Phdr))) {
        return "";
    }
    for (unsigned i = 0; i < header.e_phnum; ++i) {
        ElfW(Phdr) segment{};
        in.seekg(static_cast<std::streamoff>(header.e_phoff + i * sizeof segment));
        if (!in.read(reinterpret_cast<char*>(&segment), sizeof segment)) {
            return "cannot read program header " + std::to_string(i);
        }
        if (segment.p_type == PT_LOAD && segment.p_offset + segment.p_filesz > size) {
            return "segment " + std::to_string(i) + " ends at byte " + std::to_string(segment.p_offset + segment.p_filesz) +
                   " but the file has " + std::to_string(size);
        }
    }
    if (header.e_shnum != 0 && table_end(header.e_shoff, header.e_shnum, header.e_shentsize) > size) {
        return "its section headers end past the end of the file";
    }
    return "";
}


template <typename Compile>
std::shared_ptr<const ParameterSchema> refused_unless_valid(const std::string& where, const char* field,
                                                            Compile compile)
{
    try {
        return compile();
    } catch (const SchemaError& e) {
        throw PluginLoadError(where + ": refused: descriptor field '" + field + "': the schema " + e.what());
    }
}

} // namespace

std::shared_ptr<const ParameterSchema> declared_schema(const std::string& where, const char* field, const char* text)
{
    return refused_unless_valid(where, field, [&] { return ParameterSchema::compile_declared(text); });
}

std::shared_ptr<const ParameterSchema> declared_schema(const std::string& where, const char* field,
                                                       std::string_view text)
{
    return refused_unless_valid(where, field, [&] { return ParameterSchema::compile(text); });
}

frames::InputRequest declared_input(const std::string& where, std::uint32_t pixel_formats, std::uint32_t min_width,
                                    std::uint32_t min_height, std::uint32_t flags)
{
    try {
        return frames::input_request_of(pixel_formats, min_width, min_height, flags);
    } catch (const std::invalid_argument& e) {
        throw PluginLoadError(where + ": refused: descriptor's input: " + e.what());
    }
}

PluginLibrary::PluginLibrary(Key /*unused*/, std::filesystem::path source, std::filesystem::path shadow)
    : source_(std::move(source)), shadow_(std::move(shadow)), load_time_(std::chrono::system_clock::now())
{
}

PluginLibrary::~PluginLibrary()
{
    library_.unload();
    std::error_code ignored;
    std::filesystem::remove(shadow_, ignored);
    spdlog::debug("unloaded plugin library {} ({})", source_.string(), shadow_.string());
}

std::string PluginLibrary::abi_version() const
{
    return std::to_string(descriptor_->abi_major) + "." + std::to_string(descriptor_->abi_minor);
}

std::shared_ptr<PluginLibrary> PluginLibrary::load(const std::filesystem::path& source,
                                                   const std::filesystem::path& shadow_dir,
                                                   const std::filesystem::path& shown_as,
                                                   const std::filesystem::path& copy_as)
{
    const auto shown = shown_as.empty() ? source : shown_as;
    const std::string where = shown.string();
    if (!looks_like_elf(source)) {
        throw PluginLoadError(where + ": refused: not an ELF shared library");
    }
    std::filesystem::create_directories(shadow_dir);
    const auto shadow = copy_as.empty() ? unique_copy_name(source, shadow_dir) : copy_as;
    copy_plugin_file(source, shadow, where);
    // From here the shadow copy is owned by the PluginLibrary (its destructor removes it).
    auto plugin = std::make_shared<PluginLibrary>(Key{}, shown, shadow);
    if (const auto truncated = truncation_of(shadow); !truncated.empty()) {
        throw PluginLoadError(where + ": refused: cannot load: truncated ELF file (still being written?): " + truncated);
    }
    boost::dll::fs::error_code load_error;
    plugin->library_.load(shadow, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, load_error);
    if (load_error) {
        const char* reason = ::dlerror(); // Boost.DLL keeps only a generic error code; dlerror says why
        throw PluginLoadError(where + ": refused: cannot load: " + (reason != nullptr ? reason : load_error.message()));
    }
    if (!plugin->library_.has(AVA_PLUGIN_ENTRY_NAME)) {
        throw PluginLoadError(where + ": refused: no entry symbol '" AVA_PLUGIN_ENTRY_NAME
                              "' (declare it with AVA_PLUGIN_DEFINE_ENTRY from ava_plugin.h)");
    }
    auto entry = plugin->library_.get<const ava_plugin_descriptor*()>(AVA_PLUGIN_ENTRY_NAME);
    const ava_plugin_descriptor* descriptor = entry();
    if (descriptor == nullptr) {
        throw PluginLoadError(where + ": refused: " AVA_PLUGIN_ENTRY_NAME "() returned no descriptor");
    }
    if (descriptor->abi_major != AVA_PLUGIN_ABI_MAJOR) {
        throw PluginLoadError(where + ": refused: built for plugin ABI " + std::to_string(descriptor->abi_major) +
                              "." + std::to_string(descriptor->abi_minor) + ", this host implements ABI " +
                              std::to_string(AVA_PLUGIN_ABI_MAJOR) + "." + std::to_string(AVA_PLUGIN_ABI_MINOR) +
                              " (major versions must match: rebuild the plugin against this host's ava_plugin.h)");
    }
    if (descriptor->struct_size < minimum_descriptor_size) {
        throw PluginLoadError(where + ": refused: descriptor struct_size " + std::to_string(descriptor->struct_size) +
                              " is smaller than ABI 1.0's " + std::to_string(minimum_descriptor_size));
    }
    check_identity(where, descriptor->name, descriptor->version);
    if (descriptor->create == nullptr || descriptor->destroy == nullptr || descriptor->open_stream == nullptr ||
        descriptor->close_stream == nullptr || descriptor->process == nullptr) {
        throw PluginLoadError(where + ": refused: descriptor has a null function pointer");
    }
    check_concurrency(where, descriptor->concurrency);
    // ABI 1.1 fields, read only when the plugin's descriptor has them.
    if (AVA_HAS_FIELD(descriptor, ava_plugin_descriptor, configuration_schema)) {
        plugin->configuration_schema_ = declared_schema(where, "configuration_schema", descriptor->configuration_schema);
    }
    if (AVA_HAS_FIELD(descriptor, ava_plugin_descriptor, parameters_schema)) {
        plugin->parameters_schema_ = declared_schema(where, "parameters_schema", descriptor->parameters_schema);
    }
    if (AVA_HAS_FIELD(descriptor, ava_plugin_descriptor, input_flags)) { // ABI 1.2
        plugin->input_ = declared_input(where, descriptor->input_pixel_formats, descriptor->input_min_width,
                                        descriptor->input_min_height, descriptor->input_flags);
    }
    plugin->descriptor_ = descriptor;
    return plugin;
}

std::filesystem::path unique_copy_name(const std::filesystem::path& source, const std::filesystem::path& dir)
{
    static std::atomic<unsigned> counter{0}; // uniqueness only, not shared state anyone reads
    return dir / (source.stem().string() + "." + std::to_string(::getpid()) + "." +
                  std::to_string(counter.fetch_add(1)) + source.extension().string());
}

void copy_plugin_file(const std::filesystem::path& source, const std::filesystem::path& copy, const std::string& where)
{
    const auto before = stamp_of(source);
    std::error_code ec;
    std::filesystem::copy_file(source, copy, std::filesystem::copy_options::overwrite_existing, ec);
    std::error_code ignored;
    if (ec) {
        std::filesystem::remove(copy, ignored);
        throw PluginLoadError(where + ": refused: cannot copy to " + copy.string() + ": " + ec.message());
    }
    // A file written while we copied it would give a torn copy: never dlopen one.
    const auto copied = stamp_of(copy);
    if (!before || before != stamp_of(source) || !copied || copied->size != before->size) {
        std::filesystem::remove(copy, ignored);
        throw PluginLoadError(where + ": refused: it changed while being copied (still being written?)");
    }
}

void check_identity(const std::string& where, const char* name, const char* version)
{
    // The name is how configuration, routes, metrics labels and log lines refer to the analyzer, so it must
    // be printable text of a sensible length; the version is shown next to it.
    for (const auto& [field, value] : {std::pair{"name", name}, std::pair{"version", version}}) {
        const std::string_view text = value != nullptr ? value : "";
        if (text.empty()) {
            throw PluginLoadError(where + ": refused: descriptor field '" + field + "' is empty");
        }
        if (text.size() > max_identity_bytes) {
            throw PluginLoadError(where + ": refused: descriptor field '" + field + "' is " +
                                  std::to_string(text.size()) + " bytes long (at most " +
                                  std::to_string(max_identity_bytes) + ")");
        }
        const bool control = std::ranges::any_of(text, [](char c) {
            return static_cast<unsigned char>(c) < 0x20 || c == '\x7f';
        });
        if (control || !inferences::is_valid_utf8(text)) {
            throw PluginLoadError(where + ": refused: descriptor field '" + field +
                                  "' is not printable UTF-8 text (control characters or invalid bytes)");
        }
    }
}

void check_concurrency(const std::string& where, int concurrency)
{
    if (concurrency < AVA_CONCURRENCY_SERIAL || concurrency > AVA_CONCURRENCY_FULL) {
        throw PluginLoadError(where + ": refused: unknown concurrency value " + std::to_string(concurrency));
    }
}

} // namespace ava::loading
