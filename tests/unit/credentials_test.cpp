#include "security/credentials.h"

#include <gtest/gtest.h>

namespace ava::security {
namespace {

TEST(Credentials, NothingConfiguredAllowsAll)
{
    EXPECT_TRUE(authorize(Credentials{}, ""));
}

TEST(Credentials, BasicAndBearer)
{
    const Credentials c{"user", "pass", "token"};
    EXPECT_TRUE(authorize(c, "Basic dXNlcjpwYXNz"));
    EXPECT_TRUE(authorize(c, "basic dXNlcjpwYXNz"));
    EXPECT_FALSE(authorize(c, "Basic dXNlcjpwYXNa"));
    EXPECT_FALSE(authorize(c, "Basic dXNlcjpwYXNz!!"));
    EXPECT_TRUE(authorize(c, "Bearer token"));
    EXPECT_FALSE(authorize(c, "Bearer tokens"));
    EXPECT_FALSE(authorize(c, ""));
    EXPECT_FALSE(authorize(c, "Digest x"));
}

// Base64 whose length is not a multiple of 4 (no padding): decoding its last 2-3 characters used to write
// past the buffer (heap-buffer-overflow under ASan; found by fuzz/http_request_fuzzer). Every length, so the
// sanitized suite sees each remainder.
TEST(Credentials, UnpaddedBasicCredentialsOfEveryLength)
{
    const Credentials c{"user", "pass", ""};
    std::string encoded;
    for (int length = 0; length < 64; ++length) {
        EXPECT_FALSE(authorize(c, "Basic " + encoded)) << encoded;
        encoded += "YXZh"[length % 4];
    }
    EXPECT_TRUE(authorize(c, "Basic dXNlcjpwYXNz"));
    EXPECT_FALSE(authorize(c, "Basic dXNlcjpwYXN")); // "user:pas" cut short, unpadded
}

TEST(Credentials, ConstantTimeEqual)
{
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
    EXPECT_TRUE(constant_time_equal("", ""));
}

} // namespace
} // namespace ava::security
