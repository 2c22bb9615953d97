#pragma once
// `ava-extension-host --health-check URL`: a liveness probe that needs no curl in the image. GETs the URL
// (http:// or https://; a certificate is not verified: the probe checks liveness, usually on 127.0.0.1),
// within `timeout`, and says what it saw on one line.

#include <chrono>
#include <string>

namespace ava::runtime {

// 0 when the answer is 200, 1 otherwise (refused, timed out, another status, bad URL). `report` gets one line.
int health_check(const std::string& url, std::string& report,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

} // namespace ava::runtime
