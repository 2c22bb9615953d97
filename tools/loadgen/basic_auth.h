#pragma once
// "Basic <base64(user:password)>", the credentials both AVA protocols carry.

#include <string>

namespace ava::loadgen {

std::string basic_credentials(const std::string& username, const std::string& password);

} // namespace ava::loadgen
