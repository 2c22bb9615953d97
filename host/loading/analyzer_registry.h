#pragma once
// AnalyzerRegistry: the analyzers that can take new work, by name. Front-ends and the router look up a
// shared_ptr and keep it for the request or stream; replacing or removing an entry never disturbs those.

#include "analyzer.h"

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ava::loading {

class AnalyzerRegistry {
public:
    std::shared_ptr<Analyzer> find(std::string_view name) const;
    std::vector<std::shared_ptr<Analyzer>> list() const; // sorted by name
    std::vector<std::string> names() const;

    // Adds or replaces the analyzer with this name; returns the one it replaced (may be null).
    std::shared_ptr<Analyzer> put(std::shared_ptr<Analyzer> analyzer);
    std::shared_ptr<Analyzer> remove(std::string_view name);

private:
    mutable std::shared_mutex mutex_;
    std::map<std::string, std::shared_ptr<Analyzer>, std::less<>> analyzers_;
};

} // namespace ava::loading
