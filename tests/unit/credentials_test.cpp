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

TEST(Credentials, ConstantTimeEqual)
{
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
    EXPECT_TRUE(constant_time_equal("", ""));
}

} // namespace
} // namespace ava::security
