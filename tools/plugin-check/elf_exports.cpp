#include "elf_exports.h"

#include <cxxabi.h>
#include <elf.h>
#include <link.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace ava::plugin_check {
namespace {

// Reads a T at `offset` of `bytes`, or throws when it does not fit (a truncated or hostile file).
template <typename T>
T read_at(const std::vector<char>& bytes, std::uint64_t offset, const char* what)
{
    if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) {
        throw std::runtime_error(std::string("truncated ELF file: ") + what + " lies past its end");
    }
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

// Symbols the linker defines itself: the usual ones, and the __start_/__stop_ bounds of a named section
// (sanitizer coverage instrumentation makes such sections in every object).
bool linker_defined(const std::string& name)
{
    if (name.starts_with("__start_") || name.starts_with("__stop_")) {
        return true;
    }
    static constexpr std::array<const char*, 5> names{"_init", "_fini", "_edata", "_end", "__bss_start"};
    for (const char* n : names) {
        if (name == n) {
            return true;
        }
    }
    return false;
}

} // namespace

std::vector<ExportedSymbol> exported_symbols(const std::filesystem::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot open " + file.string());
    }
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto header = read_at<ElfW(Ehdr)>(bytes, 0, "the ELF header");
    constexpr unsigned char native_class = __ELF_NATIVE_CLASS == 64 ? ELFCLASS64 : ELFCLASS32;
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != native_class) {
        throw std::runtime_error("not an ELF file of this machine's class");
    }
    if (header.e_shentsize != sizeof(ElfW(Shdr))) {
        throw std::runtime_error("no readable section headers (stripped with sstrip?)");
    }
    const auto section = [&](std::uint64_t index) {
        return read_at<ElfW(Shdr)>(bytes, header.e_shoff + index * sizeof(ElfW(Shdr)), "a section header");
    };
    std::vector<ExportedSymbol> exported;
    for (unsigned i = 0; i < header.e_shnum; ++i) {
        const auto symbols = section(i);
        if (symbols.sh_type != SHT_DYNSYM || symbols.sh_entsize != sizeof(ElfW(Sym))) {
            continue;
        }
        const auto strings = section(symbols.sh_link);
        const auto name_at = [&](std::uint32_t offset) {
            if (offset >= strings.sh_size || strings.sh_offset + strings.sh_size > bytes.size()) {
                throw std::runtime_error("truncated ELF file: a symbol name lies past its string table");
            }
            const char* begin = bytes.data() + strings.sh_offset + offset;
            return std::string(begin, strnlen(begin, strings.sh_size - offset));
        };
        for (std::uint64_t s = 1; s < symbols.sh_size / sizeof(ElfW(Sym)); ++s) { // 0 is the null symbol
            const auto symbol = read_at<ElfW(Sym)>(bytes, symbols.sh_offset + s * sizeof(ElfW(Sym)), "a symbol");
            const auto binding = ELF64_ST_BIND(symbol.st_info);
            const auto visibility = ELF64_ST_VISIBILITY(symbol.st_other);
            const bool defined = symbol.st_shndx != SHN_UNDEF && symbol.st_shndx != SHN_ABS; // ABS: version names
            const bool global = binding == STB_GLOBAL || binding == STB_WEAK || binding == STB_GNU_UNIQUE;
            const bool visible = visibility == STV_DEFAULT || visibility == STV_PROTECTED;
            if (!defined || !global || !visible) {
                continue;
            }
            auto name = name_at(symbol.st_name);
            if (!linker_defined(name)) {
                exported.push_back({std::move(name), binding == STB_GNU_UNIQUE});
            }
        }
    }
    return exported;
}

std::string readable(const std::string& symbol)
{
    int status = 0;
    const std::unique_ptr<char, decltype(&std::free)> demangled(
        abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status), &std::free);
    return status == 0 && demangled ? std::string(demangled.get()) + " (" + symbol + ")" : symbol;
}

} // namespace ava::plugin_check
