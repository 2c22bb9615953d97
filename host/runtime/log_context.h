#pragma once
// LogScope: whose work the log lines written on this thread are about (pipeline, node, analyzer, route,
// request id, peer), for the JSON log format's fields. A front-end opens a scope where it starts work on a
// frame or stream; every line written meanwhile on that thread carries the fields, including lines from
// deeper code (the inference collector, the analyzer worker client) that never sees the request.
//
// Why a thread-local: spdlog 1.10 (Debian 12) has no per-message fields and no MDC, and passing the fields
// down to every function that may log would couple the whole host to its logging. The thread-local holds
// only a pointer to the innermost live scope, set and restored by RAII, so nothing outlives its scope.

#include <string_view>

namespace ava::runtime {

struct LogFields {
    // Views into strings the scope's owner keeps alive for the scope's life; empty means not known.
    std::string_view pipeline{};
    std::string_view node{};
    std::string_view analyzer{};
    std::string_view route{};
    std::string_view request_id{};
    std::string_view peer{};
};

class LogScope {
public:
    // Fields left empty are taken from the enclosing scope on this thread, if any.
    explicit LogScope(const LogFields& fields) noexcept;
    ~LogScope();
    LogScope(const LogScope&) = delete;
    LogScope& operator=(const LogScope&) = delete;

    // The innermost scope's fields on this thread (null when none is open).
    static const LogFields* current() noexcept;

private:
    LogFields fields_;
    const LogScope* enclosing_;
};

} // namespace ava::runtime
