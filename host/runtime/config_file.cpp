#include "config_file.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <utility>

namespace ava::runtime {
namespace {

// A JSON value with the path that reached it, so every error can say where it is.
class Node {
public:
    Node(const rapidjson::Value& value, std::string path, const std::string& file)
        : value_(value), path_(std::move(path)), file_(file)
    {
    }

    [[noreturn]] void fail(const std::string& expected) const
    {
        throw ConfigError(file_ + ": " + path_ + ": " + expected);
    }

    void expect_object(std::initializer_list<const char*> known) const
    {
        if (!value_.IsObject()) {
            fail("expected an object");
        }
        for (const auto& member : value_.GetObject()) {
            bool found = false;
            std::string list;
            for (const char* k : known) {
                found = found || member.name == k;
                list += (list.empty() ? "" : ", ") + std::string(k);
            }
            if (!found) {
                Node(member.value, path_ + "." + member.name.GetString(), file_)
                    .fail("unknown key (expected one of: " + list + ")");
            }
        }
    }

    std::optional<Node> child(const char* key) const
    {
        const auto it = value_.FindMember(key);
        if (it == value_.MemberEnd()) {
            return std::nullopt;
        }
        return Node(it->value, path_ + "." + key, file_);
    }

    std::string string() const
    {
        if (!value_.IsString()) {
            fail("expected a string");
        }
        return value_.GetString();
    }
    bool boolean() const
    {
        if (!value_.IsBool()) {
            fail("expected true or false");
        }
        return value_.GetBool();
    }
    std::uint64_t integer(std::uint64_t min, std::uint64_t max) const
    {
        if (!value_.IsUint64() || value_.GetUint64() < min || value_.GetUint64() > max) {
            fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
        }
        return value_.GetUint64();
    }
    std::string object_as_json() const
    {
        if (!value_.IsObject()) {
            fail("expected an object");
        }
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
        value_.Accept(writer);
        return {buffer.GetString(), buffer.GetSize()};
    }
    const rapidjson::Value& value() const { return value_; }
    const std::string& path() const { return path_; }
    const std::string& file() const { return file_; }

private:
    const rapidjson::Value& value_;
    std::string path_;
    const std::string& file_;
};

template <typename Apply>
void if_present(const Node& parent, const char* key, Apply&& apply)
{
    if (auto node = parent.child(key)) {
        apply(*node);
    }
}

void read_tls(const Node& node, TlsFiles& tls)
{
    node.expect_object({"certificate", "privateKey"});
    if_present(node, "certificate", [&](const Node& n) { tls.certificate_chain = n.string(); });
    if_present(node, "privateKey", [&](const Node& n) { tls.private_key = n.string(); });
}

std::uint16_t port_of(const Node& n) { return static_cast<std::uint16_t>(n.integer(0, 65535)); }

void read_routes(const Node& node, routing::RouteTable& table)
{
    if (!node.value().IsArray()) {
        node.fail("expected an array of routes");
    }
    table.routes.clear();
    for (rapidjson::SizeType i = 0; i < node.value().Size(); ++i) {
        const Node item(node.value()[i], node.path() + "[" + std::to_string(i) + "]", node.file());
        item.expect_object({"analyzer", "parameters", "httpPath", "extensionConfiguration", "pipeline", "alias", "overload"});
        routing::Route route;
        const auto analyzer = item.child("analyzer");
        if (!analyzer) {
            item.fail("missing \"analyzer\" (the analyzer name this route selects)");
        }
        route.analyzer = analyzer->string();
        if_present(item, "parameters", [&](const Node& n) { route.parameters_json = n.object_as_json(); });
        if_present(item, "httpPath", [&](const Node& n) {
            route.http_path = n.string();
            if (route.http_path->empty() || route.http_path->front() != '/' ||
                route.http_path->find('?') != std::string::npos) {
                n.fail("expected a URL path starting with '/' and without a query");
            }
            if (route.http_path->starts_with("/admin/")) {
                n.fail("expected a URL path outside /admin/ (reserved for the admin endpoints)");
            }
        });
        if_present(item, "extensionConfiguration", [&](const Node& n) { route.extension_configuration = n.string(); });
        if_present(item, "pipeline", [&](const Node& n) {
            route.pipeline = n.string();
            if (route.pipeline->empty()) {
                n.fail("expected a non-empty live pipeline name");
            }
        });
        if_present(item, "alias", [&](const Node& n) {
            route.alias = n.string();
            const auto slash = route.alias->find('/');
            if (route.alias->empty() || route.alias->front() == '/' ||
                (slash != std::string::npos && (slash + 1 == route.alias->size() ||
                                                route.alias->find('/', slash + 1) != std::string::npos))) {
                n.fail("expected \"name\" or \"name/version\", e.g. \"object_detection/person_vehicle_bike\"");
            }
        });
        if_present(item, "overload", [&](const Node& n) {
            const auto policy = n.string();
            if (policy != "queue" && policy != "latest") {
                n.fail("expected \"queue\" or \"latest\"");
            }
            route.overload = policy == "latest" ? routing::Overload::latest : routing::Overload::queue;
        });
        if (!route.http_path && !route.extension_configuration && !route.pipeline && !route.alias) {
            item.fail("a route needs at least one of httpPath, extensionConfiguration, pipeline, alias");
        }
        table.routes.push_back(std::move(route));
    }
}

} // namespace

void apply_config_file(const std::filesystem::path& file, HostOptions& o)
{
    const std::string name = file.string();
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw ConfigError(name + ": cannot open the configuration file");
    }
    std::stringstream text;
    text << in.rdbuf();
    const std::string json = text.str();
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseCommentsFlag>(json.c_str(), json.size());
    if (doc.HasParseError()) {
        // Line of the error: what an editor shows.
        const auto offset = doc.GetErrorOffset();
        const auto line = 1 + std::count(json.begin(), json.begin() + static_cast<std::ptrdiff_t>(std::min(offset, json.size())), '\n');
        throw ConfigError(name + ": line " + std::to_string(line) + ": invalid JSON: " +
                          rapidjson::GetParseError_En(doc.GetParseError()));
    }
    o.config_text = json;
    const Node root(doc, "$", name);
    root.expect_object({"bind", "pluginsDir", "pluginsDirs", "logLevel", "logFormat", "http", "grpc", "limits", "credentials", "analyzers",
                        "defaultAnalyzer", "routes", "isolation"});
    if_present(root, "bind", [&](const Node& n) { o.bind_address = n.string(); });
    // Relative to the configuration file, so a config and its plugins can move together.
    const auto plugins_dir = [&](const Node& n) {
        std::filesystem::path dir = n.string();
        return dir.is_absolute() ? dir : file.parent_path() / dir;
    };
    if (root.child("pluginsDir") && root.child("pluginsDirs")) {
        root.child("pluginsDirs")->fail("give either pluginsDir or pluginsDirs, not both");
    }
    if_present(root, "pluginsDir", [&](const Node& n) { o.plugins_dirs = {plugins_dir(n)}; });
    if_present(root, "pluginsDirs", [&](const Node& n) {
        // Several folders, e.g. the bundled plugins and a deployment's own: earlier folders win a name.
        if (!n.value().IsArray() || n.value().Empty()) {
            n.fail("expected a non-empty array of folder names");
        }
        o.plugins_dirs.clear();
        for (rapidjson::SizeType i = 0; i < n.value().Size(); ++i) {
            o.plugins_dirs.push_back(plugins_dir(Node(n.value()[i], n.path() + "[" + std::to_string(i) + "]", n.file())));
        }
    });
    if_present(root, "logLevel", [&](const Node& n) {
        static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
        o.log_level = n.string();
        if (levels.count(o.log_level) == 0) {
            n.fail("expected one of trace, debug, info, warn, error, critical, off");
        }
    });
    if_present(root, "logFormat", [&](const Node& n) {
        o.log_format = n.string();
        if (o.log_format != "text" && o.log_format != "json") {
            n.fail("expected text or json");
        }
    });
    if_present(root, "http", [&](const Node& http) {
        http.expect_object({"enabled", "port", "maxBodyBytes", "maxConnections", "requestTimeoutMs", "streamIdleSeconds",
                            "maxStreams", "tls"});
        if_present(http, "enabled", [&](const Node& n) { o.http_enabled = n.boolean(); });
        if_present(http, "port", [&](const Node& n) { o.http_port = port_of(n); });
        if_present(http, "maxBodyBytes", [&](const Node& n) { o.max_body_bytes = n.integer(1, 1ull << 32); });
        if_present(http, "maxConnections", [&](const Node& n) { o.max_connections = n.integer(1, 1u << 20); });
        if_present(http, "streamIdleSeconds", [&](const Node& n) { o.http_stream_idle = std::chrono::seconds(n.integer(1, 86400)); });
        if_present(http, "maxStreams", [&](const Node& n) { o.max_http_streams = n.integer(1, 1u << 20); });
        if_present(http, "requestTimeoutMs", [&](const Node& n) { o.request_timeout = std::chrono::milliseconds(n.integer(1, 3600000)); });
        if_present(http, "tls", [&](const Node& n) { read_tls(n, o.http_tls); });
    });
    if_present(root, "grpc", [&](const Node& grpc) {
        grpc.expect_object({"enabled", "port", "maxMessageBytes", "tls"});
        if_present(grpc, "enabled", [&](const Node& n) { o.grpc_enabled = n.boolean(); });
        if_present(grpc, "port", [&](const Node& n) { o.grpc_port = port_of(n); });
        if_present(grpc, "maxMessageBytes", [&](const Node& n) { o.grpc_max_message_bytes = n.integer(4096, 1ull << 30); });
        if_present(grpc, "tls", [&](const Node& n) { read_tls(n, o.grpc_tls); });
    });
    if_present(root, "limits", [&](const Node& limits) {
        limits.expect_object({"maxConcurrentFrames", "maxFrameBytesInFlight", "workers", "retryAfterSeconds"});
        if_present(limits, "maxConcurrentFrames", [&](const Node& n) { o.max_concurrent_frames = n.integer(1, 1u << 20); });
        if_present(limits, "maxFrameBytesInFlight", [&](const Node& n) { o.max_frame_bytes_in_flight = n.integer(1u << 20, 1ull << 40); });
        if_present(limits, "workers", [&](const Node& n) { o.worker_threads = static_cast<unsigned>(n.integer(0, 1024)); });
        if_present(limits, "retryAfterSeconds", [&](const Node& n) { o.retry_after_seconds = static_cast<unsigned>(n.integer(1, 3600)); });
    });
    if_present(root, "isolation", [&](const Node& isolation) {
        isolation.expect_object({"mode", "analysisTimeoutMs", "loadTimeoutMs", "memoryMib", "maxConsecutiveErrors",
                                 "analyzers"});
        auto& s = o.isolation;
        const auto mode = [](const Node& n) {
            const auto parsed = loading::isolation_from(n.string());
            if (!parsed) {
                n.fail("expected \"process\" or \"none\"");
            }
            return *parsed;
        };
        if_present(isolation, "mode", [&](const Node& n) { s.mode = mode(n); });
        if_present(isolation, "analysisTimeoutMs", [&](const Node& n) { s.analysis_timeout = std::chrono::milliseconds(n.integer(1, 3600000)); });
        if_present(isolation, "loadTimeoutMs", [&](const Node& n) { s.load_timeout = std::chrono::milliseconds(n.integer(1, 3600000)); });
        if_present(isolation, "memoryMib", [&](const Node& n) { s.memory_bytes = n.integer(0, 1u << 24) << 20; });
        if_present(isolation, "maxConsecutiveErrors", [&](const Node& n) { o.max_consecutive_analyzer_errors = static_cast<unsigned>(n.integer(1, 1u << 20)); });
        if_present(isolation, "analyzers", [&](const Node& analyzers) {
            if (!analyzers.value().IsObject()) {
                analyzers.fail("expected an object of analyzer name -> {\"mode\", \"memoryMib\"}");
            }
            for (const auto& member : analyzers.value().GetObject()) {
                const Node one(member.value, analyzers.path() + "." + member.name.GetString(), name);
                one.expect_object({"mode", "memoryMib"});
                if_present(one, "mode", [&](const Node& n) { s.per_analyzer[member.name.GetString()] = mode(n); });
                if_present(one, "memoryMib", [&](const Node& n) { s.memory_per_analyzer[member.name.GetString()] = n.integer(0, 1u << 24) << 20; });
            }
        });
    });
    if_present(root, "credentials", [&](const Node& c) {
        c.expect_object({"username", "password", "bearerToken"});
        if_present(c, "username", [&](const Node& n) { o.credentials.username = n.string(); });
        if_present(c, "password", [&](const Node& n) { o.credentials.password = n.string(); });
        if_present(c, "bearerToken", [&](const Node& n) { o.credentials.bearer_token = n.string(); });
    });
    if_present(root, "analyzers", [&](const Node& analyzers) {
        if (!analyzers.value().IsObject()) {
            analyzers.fail("expected an object of analyzer name -> configuration object");
        }
        for (const auto& member : analyzers.value().GetObject()) {
            const Node config(member.value, analyzers.path() + "." + member.name.GetString(), name);
            o.analyzer_configs[member.name.GetString()] = config.object_as_json();
        }
    });
    if_present(root, "defaultAnalyzer", [&](const Node& n) { o.routes.default_analyzer = n.string(); });
    if_present(root, "routes", [&](const Node& n) { read_routes(n, o.routes); });
}

void validate(const HostOptions& o)
{
    // Paths name where the file sets each value (flags override the same settings).
    const std::string where = o.config_file ? o.config_file->string() + ": " : std::string();
    if (o.http_enabled && o.grpc_enabled && o.http_port != 0 && o.http_port == o.grpc_port) {
        throw ConfigError(where + "$.grpc.port: HTTP and gRPC cannot share port " + std::to_string(o.http_port) +
                          " (expected a port other than $.http.port)");
    }
    for (const auto& [tls, path] : {std::pair{&o.http_tls, "$.http.tls"}, std::pair{&o.grpc_tls, "$.grpc.tls"}}) {
        if (tls->certificate_chain.empty() != tls->private_key.empty()) {
            throw ConfigError(where + path + ": TLS needs both a certificate and a private key");
        }
    }
    if (o.credentials.username.empty() != o.credentials.password.empty()) {
        throw ConfigError(where + "$.credentials: Basic credentials need both a username and a password");
    }
    std::set<std::string> paths;
    std::set<std::string> pipelines;
    std::set<std::string> configurations;
    std::set<std::string> aliases;
    for (std::size_t i = 0; i < o.routes.routes.size(); ++i) {
        const auto& route = o.routes.routes[i];
        const auto at = where + "$.routes[" + std::to_string(i) + "].";
        if (route.http_path && !paths.insert(*route.http_path).second) {
            throw ConfigError(at + "httpPath: two routes claim HTTP path '" + *route.http_path + "'");
        }
        if (route.pipeline && !pipelines.insert(*route.pipeline).second) {
            throw ConfigError(at + "pipeline: two routes claim live pipeline '" + *route.pipeline + "'");
        }
        if (route.alias && !aliases.insert(*route.alias).second) {
            throw ConfigError(at + "alias: two routes claim alias '" + *route.alias + "'");
        }
        if (route.extension_configuration && !configurations.insert(*route.extension_configuration).second) {
            throw ConfigError(at + "extensionConfiguration: two routes claim extension configuration '" +
                              *route.extension_configuration + "'");
        }
    }
}

void check_route_analyzers(const HostOptions& o, const std::vector<std::string>& loaded)
{
    const std::string where = o.config_file ? o.config_file->string() + ": " : std::string();
    const auto expected = [&](const std::string& name) {
        std::string list;
        for (const auto& n : loaded) {
            list += (list.empty() ? "" : ", ") + n;
        }
        return "expected a loaded analyzer, but '" + name + "' is not loaded from " + plugins_dirs_text(o) +
               " (loaded: " + (list.empty() ? "none" : list) + ")";
    };
    const auto is_loaded = [&](const std::string& name) {
        return std::binary_search(loaded.begin(), loaded.end(), name);
    };
    for (std::size_t i = 0; i < o.routes.routes.size(); ++i) {
        const auto& name = o.routes.routes[i].analyzer;
        if (!is_loaded(name)) {
            throw ConfigError(where + "$.routes[" + std::to_string(i) + "].analyzer: " + expected(name));
        }
    }
    // The built-in default may be absent (the host then answers 404 on its path); one that was chosen may not.
    if (o.routes.default_analyzer != routing::RouteTable{}.default_analyzer && !is_loaded(o.routes.default_analyzer)) {
        throw ConfigError(where + "$.defaultAnalyzer: " + expected(o.routes.default_analyzer));
    }
}

} // namespace ava::runtime
