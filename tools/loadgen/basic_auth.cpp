#include "basic_auth.h"

#include <cstdint>
#include <string_view>

namespace ava::loadgen {

std::string basic_credentials(const std::string& username, const std::string& password)
{
    static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const std::string plain = username + ":" + password;
    std::string out = "Basic ";
    std::size_t i = 0;
    for (; i + 2 < plain.size(); i += 3) {
        const std::uint32_t n = static_cast<std::uint8_t>(plain[i]) << 16 | static_cast<std::uint8_t>(plain[i + 1]) << 8 |
                                static_cast<std::uint8_t>(plain[i + 2]);
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        out += alphabet[n >> 6 & 63];
        out += alphabet[n & 63];
    }
    if (const auto rest = plain.size() - i; rest > 0) {
        std::uint32_t n = static_cast<std::uint32_t>(static_cast<std::uint8_t>(plain[i])) << 16;
        if (rest == 2) {
            n |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(plain[i + 1])) << 8;
        }
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        out += rest == 2 ? alphabet[n >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

} // namespace ava::loadgen
