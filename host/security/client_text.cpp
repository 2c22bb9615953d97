#include "client_text.h"

namespace ava::security {

std::string client_text(std::string_view text, std::size_t max)
{
    const bool cut = text.size() > max;
    std::string out;
    out.reserve(std::min(text.size(), max) + 24);
    for (const char c : text.substr(0, max)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F || c == '\\') {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 0xF];
        } else {
            out += c;
        }
    }
    if (cut) {
        out += "…(" + std::to_string(text.size()) + " bytes)";
    }
    return out;
}

} // namespace ava::security
