#pragma once
// Credentials the host requires from callers, and their constant-time checks (no early exit on the first
// differing byte, so response timing tells an attacker nothing about how close a guess was).

#include <optional>
#include <string>
#include <string_view>

namespace ava::security {

struct Credentials {
    std::string username; // Basic: both empty means Basic is not configured
    std::string password;
    std::string bearer_token; // empty: Bearer not configured

    bool required() const noexcept { return !username.empty() || !password.empty() || !bearer_token.empty(); }
};

bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Checks an "Authorization"-style value: "Basic <base64 user:pass>" or "Bearer <token>" (scheme
// case-insensitive). True when credentials are not required.
bool authorize(const Credentials& credentials, std::string_view header_value);

} // namespace ava::security
