#include "analyzer_registry.h"

#include <mutex>

namespace ava::loading {

std::shared_ptr<Analyzer> AnalyzerRegistry::find(std::string_view name) const
{
    std::shared_lock lock(mutex_);
    const auto it = analyzers_.find(name);
    return it != analyzers_.end() ? it->second : nullptr;
}

std::vector<std::shared_ptr<Analyzer>> AnalyzerRegistry::list() const
{
    std::shared_lock lock(mutex_);
    std::vector<std::shared_ptr<Analyzer>> out;
    out.reserve(analyzers_.size());
    for (const auto& [name, analyzer] : analyzers_) {
        out.push_back(analyzer);
    }
    return out;
}

std::vector<std::string> AnalyzerRegistry::names() const
{
    std::shared_lock lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [name, analyzer] : analyzers_) {
        out.push_back(name);
    }
    return out;
}

std::shared_ptr<Analyzer> AnalyzerRegistry::put(std::shared_ptr<Analyzer> analyzer)
{
    std::unique_lock lock(mutex_);
    auto& slot = analyzers_[analyzer->name()];
    std::swap(slot, analyzer);
    return analyzer;
}

std::shared_ptr<Analyzer> AnalyzerRegistry::remove(std::string_view name)
{
    std::unique_lock lock(mutex_);
    const auto it = analyzers_.find(name);
    if (it == analyzers_.end()) {
        return nullptr;
    }
    auto removed = std::move(it->second);
    analyzers_.erase(it);
    return removed;
}

} // namespace ava::loading
