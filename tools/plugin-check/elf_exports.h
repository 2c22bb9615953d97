#pragma once
// The symbols a shared library exports, read from its ELF dynamic symbol table (what `nm -D --defined-only`
// lists), without loading it: a plugin may export only the entry symbol, and no GNU-unique symbol (one pins
// the library in memory, so a hot-reloaded old version is never unloaded).

#include <filesystem>
#include <string>
#include <vector>

namespace ava::plugin_check {

struct ExportedSymbol {
    std::string name;       // as in the table (mangled)
    bool gnu_unique = false; // STB_GNU_UNIQUE binding
};

// Defined, default- or protected-visibility global, weak and GNU-unique symbols of the file's .dynsym, minus
// the ones the linker itself defines (_init, _fini, _edata, _end, __bss_start, __start_/__stop_<section>).
// Throws std::runtime_error when the file is not a readable ELF shared object of this machine's class.
std::vector<ExportedSymbol> exported_symbols(const std::filesystem::path& file);

// A readable name for a report: the demangled C++ name, or the name itself.
std::string readable(const std::string& symbol);

} // namespace ava::plugin_check
