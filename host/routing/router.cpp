#include "router.h"

#include "security/client_text.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace ava::routing {
namespace {

// Parameters are a flat object or two; anything deeper is refused before parsing, because RapidJSON's parser
// and writer recurse once per level and a client-sent document 100k levels deep would overflow the stack.
constexpr std::size_t max_json_bytes = 64 * 1024;
constexpr int max_json_depth = 32;

using security::client_text;

// Checked before anything else looks at the text, so an oversized one is refused as such (not, say, as an
// unknown analyzer name echoing all of it).
void check_length(std::string_view json, std::string_view what)
{
    if (json.size() > max_json_bytes) {
        throw RouteError(RouteError::Kind::bad_request, std::string(what) + " is " + std::to_string(json.size()) +
                                                            " bytes, over the limit of " + std::to_string(max_json_bytes));
    }
}

void check_shape(std::string_view json, std::string_view what)
{
    check_length(json, what);
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : json) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_json_depth) {
                throw RouteError(RouteError::Kind::bad_request, std::string(what) + " nests deeper than " +
                                                                    std::to_string(max_json_depth) + " levels");
            }
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
}

// Origin::client documents are shape-checked first; the operator's own configuration is not limited.
enum class Origin { client, configuration };

rapidjson::Document parse_object(std::string_view json, std::string_view what, Origin origin = Origin::client)
{
    if (origin == Origin::client) {
        check_shape(json, what);
    }
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());
    if (doc.HasParseError()) {
        throw RouteError(RouteError::Kind::bad_request, std::string(what) + " is not valid JSON: " +
                                                            rapidjson::GetParseError_En(doc.GetParseError()) +
                                                            " at offset " + std::to_string(doc.GetErrorOffset()));
    }
    if (!doc.IsObject()) {
        throw RouteError(RouteError::Kind::bad_request, std::string(what) + " must be a JSON object");
    }
    return doc;
}

std::string to_string(const rapidjson::Value& value)
{
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    value.Accept(writer);
    return {buffer.GetString(), buffer.GetSize()};
}

std::string percent_decode(std::string_view in)
{
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out.push_back(' ');
        } else if (in[i] == '%') {
            unsigned value = 0;
            if (i + 2 >= in.size() || std::from_chars(in.data() + i + 1, in.data() + i + 3, value, 16).ptr != in.data() + i + 3) {
                throw RouteError(RouteError::Kind::bad_request, "bad percent-escape in query string");
            }
            out.push_back(static_cast<char>(value));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

// Whether all of `value` reads as a T.
template <typename T>
bool reads_as(const std::string& value, T& out)
{
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    return !value.empty() && ec == std::errc() && end == value.data() + value.size();
}

// Query values that read fully as numbers or booleans become JSON numbers/booleans, so plugins check
// types once whatever the transport. "12" is the JSON integer 12 (a schema's "integer" takes it), "12.5"
// and "1e3" are doubles.
void add_typed(rapidjson::Document& doc, const std::string& key, const std::string& value)
{
    auto& a = doc.GetAllocator();
    rapidjson::Value name(key.c_str(), static_cast<rapidjson::SizeType>(key.size()), a);
    doc.RemoveMember(name);
    std::int64_t integer = 0;
    double number = 0;
    if (reads_as(value, integer)) {
        doc.AddMember(name, rapidjson::Value(integer), a);
    } else if (reads_as(value, number) && std::isfinite(number)) { // "nan", "inf": no JSON number, stay text
        doc.AddMember(name, rapidjson::Value(number), a);
    } else if (value == "true" || value == "false") {
        doc.AddMember(name, rapidjson::Value(value == "true"), a);
    } else {
        doc.AddMember(name, rapidjson::Value(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), a), a);
    }
}

// A route that just names an analyzer, for the built-in routes (default, "/<name>", bare names).
Route route_to(std::string analyzer)
{
    Route route;
    route.analyzer = std::move(analyzer);
    return route;
}

} // namespace

std::string merge_json_objects(std::string_view base, std::string_view overlay)
{
    if (overlay.empty() || overlay == "{}") {
        return std::string(base);
    }
    auto merged = parse_object(base, "route parameters", Origin::configuration);
    auto extra = parse_object(overlay, "request parameters");
    for (auto& member : extra.GetObject()) {
        merged.RemoveMember(member.name);
        merged.AddMember(rapidjson::Value(member.name, merged.GetAllocator()),
                         rapidjson::Value(member.value, merged.GetAllocator()), merged.GetAllocator());
    }
    return to_string(merged);
}

namespace {

// Calls visit(key, value) for each decoded query parameter ("flag" alone reads as "flag=true").
template <typename Visit>
void for_each_query_parameter(std::string_view query, Visit&& visit)
{
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        visit(percent_decode(pair.substr(0, eq)),
              eq == std::string_view::npos ? std::string("true") : percent_decode(pair.substr(eq + 1)));
    }
}

} // namespace

std::optional<std::string> query_value(std::string_view query, std::string_view name)
{
    std::optional<std::string> found;
    for_each_query_parameter(query, [&](const std::string& key, std::string value) {
        if (key == name) {
            found = std::move(value);
        }
    });
    return found;
}

std::string query_to_json(std::string_view query)
{
    rapidjson::Document doc;
    doc.SetObject();
    for_each_query_parameter(query, [&](const std::string& key, const std::string& value) {
        if (key != "pipeline" && key != "stream-id") {
            add_typed(doc, key, value);
        }
    });
    return to_string(doc);
}

Router::Router(const loading::AnalyzerRegistry& registry, RouteTable table)
    : registry_(registry), table_(std::make_shared<const RouteTable>(std::move(table)))
{
}

void Router::set_table(RouteTable table)
{
    auto next = std::make_shared<const RouteTable>(std::move(table));
    std::lock_guard lock(table_mutex_);
    table_.swap(next);
}

std::shared_ptr<const RouteTable> Router::table() const
{
    std::lock_guard lock(table_mutex_);
    return table_;
}

std::shared_ptr<loading::Analyzer> Router::analyzer_named(std::string_view name, std::string_view how) const
{
    auto analyzer = registry_.find(name);
    if (analyzer == nullptr) {
        std::string known;
        for (const auto& n : registry_.names()) {
            known += (known.empty() ? "" : ", ") + n;
        }
        throw RouteError(RouteError::Kind::not_found, std::string(how) + " names analyzer '" + client_text(name) +
                                                          "', which is not loaded (loaded: " +
                                                          (known.empty() ? "none" : known) + ")");
    }
    return analyzer;
}

RouteTarget Router::target_for(const Route& route, std::string_view request_parameters, std::string how) const
{
    return RouteTarget{analyzer_named(route.analyzer, how), merge_json_objects(route.parameters_json, request_parameters),
                       std::move(how), route.overload};
}

RouteTarget Router::resolve_http(std::string_view path, std::string_view query, std::string_view pipeline) const
{
    const auto table = this->table();
    const std::string parameters = query_to_json(query);
    if (!pipeline.empty()) {
        for (const auto& route : table->routes) {
            if (route.pipeline == pipeline) {
                return target_for(route, parameters, "pipeline " + client_text(pipeline));
            }
        }
    }
    for (const auto& route : table->routes) {
        if (route.http_path == path) {
            return target_for(route, parameters, "path " + client_text(path));
        }
    }
    if (path == table->default_path) {
        return target_for(route_to(table->default_analyzer), parameters, "path " + client_text(path));
    }
    if (path.size() > 1 && path.front() == '/' && registry_.find(path.substr(1)) != nullptr) {
        return target_for(route_to(std::string(path.substr(1))), parameters, "path " + client_text(path));
    }
    // Intel's /<name>/<version> (or /<alias>).
    if (path.size() > 1 && path.front() == '/') {
        const auto rest = path.substr(1);
        const auto slash = rest.find('/');
        const auto name = rest.substr(0, slash);
        const auto version = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
        if (!name.empty() && version.find('/') == std::string_view::npos &&
            (slash == std::string_view::npos || !version.empty()) && knows_name(*table, name)) {
            return resolve_name_version(*table, name, version, parameters, "path " + client_text(path));
        }
    }
    std::string paths;
    for (const auto& p : http_paths()) {
        paths += (paths.empty() ? "" : ", ") + p;
    }
    throw RouteError(RouteError::Kind::not_found,
                     "no analyzer serves path '" + client_text(path) + "' (routes: " + paths + ")");
}

RouteTarget Router::resolve_grpc(std::string_view extension_configuration, std::string_view pipeline) const
{
    check_length(extension_configuration, "extension_configuration");
    const auto table = this->table();
    if (!pipeline.empty()) {
        for (const auto& route : table->routes) {
            if (route.pipeline == pipeline) {
                return target_for(route, "{}", "pipeline " + client_text(pipeline));
            }
        }
    }
    for (const auto& route : table->routes) {
        if (route.extension_configuration == extension_configuration) {
            return target_for(route, "{}", "extension configuration '" + client_text(extension_configuration) + "'");
        }
    }
    const auto first = extension_configuration.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return target_for(route_to(table->default_analyzer), "{}", "default route");
    }
    if (extension_configuration[first] != '{') {
        const auto last = extension_configuration.find_last_not_of(" \t\r\n");
        const auto name = extension_configuration.substr(first, last - first + 1);
        return target_for(route_to(std::string(name)), "{}", "extension configuration '" + client_text(name) + "'");
    }
    const auto doc = parse_object(extension_configuration, "extension_configuration");
    if (doc.ObjectEmpty()) {
        return target_for(route_to(table->default_analyzer), "{}", "default route");
    }
    if (doc.HasMember("pipeline")) {
        return resolve_intel_configuration(*table, doc, extension_configuration);
    }
    const auto analyzer = doc.FindMember("analyzer");
    if (analyzer == doc.MemberEnd() || !analyzer->value.IsString()) {
        throw RouteError(RouteError::Kind::bad_request,
                         "extension_configuration JSON must have a string member \"analyzer\"");
    }
    std::string parameters = "{}";
    if (const auto p = doc.FindMember("parameters"); p != doc.MemberEnd()) {
        if (!p->value.IsObject()) {
            throw RouteError(RouteError::Kind::bad_request, "extension_configuration \"parameters\" must be a JSON object");
        }
        parameters = to_string(p->value);
    }
    for (const auto& member : doc.GetObject()) {
        const std::string_view key = member.name.GetString();
        if (key != "analyzer" && key != "parameters") {
            throw RouteError(RouteError::Kind::bad_request, "extension_configuration has unknown member \"" +
                                                                client_text(key) +
                                                                "\" (known: analyzer, parameters; or Intel's pipeline)");
        }
    }
    return target_for(route_to(analyzer->value.GetString()), parameters,
                      "extension configuration analyzer '" + client_text(analyzer->value.GetString()) + "'");
}

bool Router::knows_name(const RouteTable& table, std::string_view name) const
{
    for (const auto& route : table.routes) {
        if (route.alias && (*route.alias == name || (route.alias->size() > name.size() && route.alias->starts_with(name) &&
                                                      (*route.alias)[name.size()] == '/'))) {
            return true;
        }
    }
    return registry_.find(name) != nullptr;
}

RouteTarget Router::resolve_name_version(const RouteTable& table, std::string_view name, std::string_view version,
                                         std::string_view parameters, std::string_view how) const
{
    if (!version.empty()) {
        const auto both = std::string(name) + "/" + std::string(version);
        for (const auto& route : table.routes) {
            if (route.alias == both) {
                return target_for(route, parameters, std::string(how) + " (alias '" + client_text(both) + "')");
            }
        }
    }
    for (const auto& route : table.routes) {
        if (route.alias == name) { // an alias of the name alone stands for every version of it
            return target_for(route, parameters, std::string(how) + " (alias '" + client_text(name) + "')");
        }
    }
    auto target = target_for(route_to(std::string(name)), parameters, std::string(how));
    const auto loaded = target.analyzer->plugin().version();
    if (!version.empty() && version != loaded) {
        std::string aliases;
        for (const auto& route : table.routes) {
            if (route.alias) {
                aliases += (aliases.empty() ? "" : ", ") + *route.alias;
            }
        }
        throw RouteError(RouteError::Kind::not_found,
                         std::string(how) + " asks for analyzer '" + client_text(name) + "' version '" +
                             client_text(version) + "', but version " + loaded +
                             " is loaded (configure a route alias \"" + client_text(name) + "/" +
                             client_text(version) + "\" to map it; aliases: " + (aliases.empty() ? "none" : aliases) +
                             ")");
    }
    return target;
}

RouteTarget Router::resolve_intel_configuration(const RouteTable& table, const rapidjson::Document& doc,
                                                std::string_view text) const
{
    const auto quoted = "extension_configuration " + client_text(text);
    const auto& pipeline = doc["pipeline"];
    if (!pipeline.IsObject()) {
        throw RouteError(RouteError::Kind::bad_request, quoted + ": \"pipeline\" must be an object with a string \"name\"");
    }
    const auto name = pipeline.FindMember("name");
    if (name == pipeline.MemberEnd() || !name->value.IsString() || name->value.GetStringLength() == 0) {
        throw RouteError(RouteError::Kind::bad_request, quoted + ": \"pipeline\" needs a non-empty string \"name\"");
    }
    std::string_view version;
    if (const auto v = pipeline.FindMember("version"); v != pipeline.MemberEnd()) {
        if (!v->value.IsString()) {
            throw RouteError(RouteError::Kind::bad_request, quoted + ": \"pipeline.version\" must be a string");
        }
        version = {v->value.GetString(), v->value.GetStringLength()};
    }
    std::string parameters = "{}";
    if (const auto p = pipeline.FindMember("parameters"); p != pipeline.MemberEnd()) {
        if (!p->value.IsObject()) {
            throw RouteError(RouteError::Kind::bad_request, quoted + ": \"pipeline.parameters\" must be an object");
        }
        parameters = to_string(p->value);
    }
    // What Intel's server understood and we do not (destinations, extensions...): said once per stream.
    std::string ignored;
    for (const auto& member : doc.GetObject()) {
        if (std::string_view(member.name.GetString()) != "pipeline") {
            ignored += (ignored.empty() ? "" : ", ") + client_text(member.name.GetString(), 40);
        }
    }
    for (const auto& member : pipeline.GetObject()) {
        const std::string_view key = member.name.GetString();
        if (key != "name" && key != "version" && key != "parameters") {
            ignored += (ignored.empty() ? "pipeline." : ", pipeline.") + client_text(key, 40);
        }
    }
    if (!ignored.empty()) {
        spdlog::info("extension_configuration: ignoring members this host does not use: {}", client_text(ignored));
    }
    return resolve_name_version(table, {name->value.GetString(), name->value.GetStringLength()}, version, parameters,
                                "extension configuration pipeline '" +
                                    client_text(std::string_view(name->value.GetString(), name->value.GetStringLength())) +
                                    (version.empty() ? std::string() : "/" + client_text(version)) + "'");
}

std::vector<std::string> Router::missing_analyzers() const
{
    const auto table = this->table();
    std::vector<std::string> missing;
    const auto check = [&](const std::string& name) {
        if (registry_.find(name) == nullptr && std::find(missing.begin(), missing.end(), name) == missing.end()) {
            missing.push_back(name);
        }
    };
    if (table->default_analyzer != RouteTable{}.default_analyzer) {
        check(table->default_analyzer);
    }
    for (const auto& route : table->routes) {
        check(route.analyzer);
    }
    return missing;
}

std::vector<std::string> Router::http_paths() const
{
    const auto table = this->table();
    std::vector<std::string> paths{table->default_path};
    for (const auto& route : table->routes) {
        if (route.http_path) {
            paths.push_back(*route.http_path);
        }
        if (route.alias) {
            paths.push_back("/" + *route.alias);
        }
    }
    for (const auto& name : registry_.names()) {
        paths.push_back("/" + name);
    }
    return paths;
}

} // namespace ava::routing
