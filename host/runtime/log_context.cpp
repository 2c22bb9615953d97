#include "log_context.h"

namespace ava::runtime {
namespace {

thread_local const LogScope* innermost = nullptr; // see log_context.h for why a thread-local

void inherit(std::string_view& field, std::string_view outer) noexcept
{
    if (field.empty()) {
        field = outer;
    }
}

} // namespace

LogScope::LogScope(const LogFields& fields) noexcept : fields_(fields), enclosing_(innermost)
{
    if (const auto* outer = current()) {
        inherit(fields_.pipeline, outer->pipeline);
        inherit(fields_.node, outer->node);
        inherit(fields_.analyzer, outer->analyzer);
        inherit(fields_.route, outer->route);
        inherit(fields_.request_id, outer->request_id);
        inherit(fields_.peer, outer->peer);
    }
    innermost = this;
}

LogScope::~LogScope() { innermost = enclosing_; }

const LogFields* LogScope::current() noexcept { return innermost == nullptr ? nullptr : &innermost->fields_; }

} // namespace ava::runtime
