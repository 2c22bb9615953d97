#include "plugin_library.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <dlfcn.h>
#include <unistd.h>

namespace ava::loading {
namespace {

// The smallest descriptor any ABI 1.x plugin can have: everything up to and including process().
constexpr std::size_t minimum_descriptor_size =
    offsetof(ava_plugin_descriptor, process) + sizeof(ava_plugin_descriptor::process);

std::filesystem::path unique_shadow_name(const std::filesystem::path& source, const std::filesystem::path& dir)
{
    static std::atomic<unsigned> counter{0}; // uniqueness only, not shared state anyone reads
    return dir / (source.stem().string() + "." + std::to_string(::getpid()) + "." +
                  std::to_string(counter.fetch_add(1)) + source.extension().string());
}

bool looks_like_elf(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    in.read(magic, sizeof magic);
    return in.gcount() == sizeof magic && std::memcmp(magic, "\x7f" "ELF", 4) == 0;
}

std::string checked_string(const char* value, const char* field, const std::filesystem::path& source)
{
    if (value == nullptr || *value == '\0') {
        throw PluginLoadError(source.string() + ": refused: descriptor field '" + field + "' is empty");
    }
    return value;
}

} // namespace

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
                                                   const std::filesystem::path& shadow_dir)
{
    const std::string where = source.string();
    if (!looks_like_elf(source)) {
        throw PluginLoadError(where + ": refused: not an ELF shared library");
    }
    std::filesystem::create_directories(shadow_dir);
    auto shadow = unique_shadow_name(source, shadow_dir);
    std::error_code ec;
    std::filesystem::copy_file(source, shadow, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
        throw PluginLoadError(where + ": refused: cannot copy to " + shadow.string() + ": " + ec.message());
    }
    // From here the shadow copy is owned by the PluginLibrary (its destructor removes it).
    auto plugin = std::make_shared<PluginLibrary>(Key{}, source, shadow);
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
    checked_string(descriptor->name, "name", source);
    checked_string(descriptor->version, "version", source);
    if (descriptor->create == nullptr || descriptor->destroy == nullptr || descriptor->open_stream == nullptr ||
        descriptor->close_stream == nullptr || descriptor->process == nullptr) {
        throw PluginLoadError(where + ": refused: descriptor has a null function pointer");
    }
    if (descriptor->concurrency < AVA_CONCURRENCY_SERIAL || descriptor->concurrency > AVA_CONCURRENCY_FULL) {
        throw PluginLoadError(where + ": refused: unknown concurrency value " +
                              std::to_string(static_cast<int>(descriptor->concurrency)));
    }
    plugin->descriptor_ = descriptor;
    return plugin;
}

} // namespace ava::loading
