#include "utf8.h"

#include <utility>

namespace ava::inferences {
namespace {

// Length of the valid sequence starting at text[at], or 0 with `bad` set to the length of the maximal
// invalid subpart (at least 1) to replace. Ranges from the Unicode standard, table 3-7.
std::size_t valid_sequence(std::string_view text, std::size_t at, std::size_t& bad) noexcept
{
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    if (lead < 0x80) {
        return 1;
    }
    std::size_t length = 0;
    unsigned char low = 0x80; // allowed range of the second byte
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        low = lead == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
        high = lead == 0xED ? 0x9F : 0xBF; // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        low = lead == 0xF0 ? 0x90 : 0x80;  // no overlong forms
        high = lead == 0xF4 ? 0x8F : 0xBF; // nothing over U+10FFFF
    } else {
        bad = 1; // a continuation byte, C0, C1 or F5..FF: never valid here
        return 0;
    }
    for (std::size_t i = 1; i < length; ++i) {
        const bool in_range = at + i < text.size() && byte(at + i) >= (i == 1 ? low : 0x80) &&
                              byte(at + i) <= (i == 1 ? high : 0xBF);
        if (!in_range) {
            bad = i; // the lead and the continuation bytes that were still plausible
            return 0;
        }
    }
    return length;
}

constexpr std::string_view replacement = "\xEF\xBF\xBD";

} // namespace

bool is_valid_utf8(std::string_view text) noexcept
{
    std::size_t bad = 0;
    for (std::size_t at = 0; at < text.size();) {
        const auto length = valid_sequence(text, at, bad);
        if (length == 0) {
            return false;
        }
        at += length;
    }
    return true;
}

std::size_t repair_utf8(std::string& text)
{
    if (is_valid_utf8(text)) {
        return 0; // the common case: no copy
    }
    std::string repaired;
    repaired.reserve(text.size() + 16);
    std::size_t replacements = 0;
    std::size_t bad = 0;
    for (std::size_t at = 0; at < text.size();) {
        const auto length = valid_sequence(text, at, bad);
        if (length != 0) {
            repaired.append(text, at, length);
            at += length;
        } else {
            repaired.append(replacement);
            ++replacements;
            at += bad;
        }
    }
    text = std::move(repaired);
    return replacements;
}

} // namespace ava::inferences
