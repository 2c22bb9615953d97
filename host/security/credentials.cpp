#include "credentials.h"

#include <boost/beast/core/detail/base64.hpp>

#include <algorithm>
#include <cctype>

namespace ava::security {
namespace {

bool scheme_is(std::string_view value, std::string_view scheme)
{
    return value.size() > scheme.size() && value[scheme.size()] == ' ' &&
           std::equal(scheme.begin(), scheme.end(), value.begin(),
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); });
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && s.front() == ' ') {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

} // namespace

bool constant_time_equal(std::string_view a, std::string_view b) noexcept
{
    // Compare over the longer length so the time depends only on the lengths, not the contents.
    const std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    return diff == 0;
}

bool authorize(const Credentials& credentials, std::string_view header_value)
{
    if (!credentials.required()) {
        return true;
    }
    header_value = trim(header_value);
    if (!credentials.bearer_token.empty() && scheme_is(header_value, "Bearer")) {
        return constant_time_equal(trim(header_value.substr(7)), credentials.bearer_token);
    }
    if ((!credentials.username.empty() || !credentials.password.empty()) && scheme_is(header_value, "Basic")) {
        const auto encoded = trim(header_value.substr(6));
        // Room for a last, incomplete group too: Beast's decoded_size(n) is n / 4 * 3, but decode() writes
        // up to two bytes for the 2-3 characters after the last whole group (found by the HTTP fuzzer).
        std::string decoded(boost::beast::detail::base64::decoded_size(encoded.size() + 3), '\0');
        const auto [written, read] = boost::beast::detail::base64::decode(decoded.data(), encoded.data(), encoded.size());
        auto unpadded = encoded;
        while (!unpadded.empty() && unpadded.back() == '=') {
            unpadded.remove_suffix(1);
        }
        if (read != unpadded.size()) { // stopped early: not base64
            return false;
        }
        decoded.resize(written);
        return constant_time_equal(decoded, credentials.username + ":" + credentials.password);
    }
    return false;
}

} // namespace ava::security
