#include "request_handler.h"

#include "frames/frame_decoder.h"
#include "inferences/json_writer.h"
#include "runtime/iso_time.h"
#include "runtime/log_context.h"
#include "security/client_text.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>

namespace ava::http {
namespace {

constexpr std::string_view request_id_header = "x-ms-client-request-id";
constexpr std::string_view pipeline_header = "x-ms-live-pipeline";
constexpr std::string_view admin_reload_path = "/admin/reload";

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

struct ContentType {
    std::string media_type;
    std::map<std::string, std::string> parameters;
};

ContentType parse_content_type(std::string_view value)
{
    ContentType out;
    auto semi = value.find(';');
    out.media_type = lower(trim(value.substr(0, semi)));
    while (semi != std::string_view::npos) {
        value = value.substr(semi + 1);
        semi = value.find(';');
        const auto item = trim(value.substr(0, semi));
        const auto eq = item.find('=');
        if (eq != std::string_view::npos) {
            auto v = trim(item.substr(eq + 1));
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
                v = v.substr(1, v.size() - 2);
            }
            out.parameters[lower(trim(item.substr(0, eq)))] = std::string(v);
        }
    }
    return out;
}

std::uint64_t raw_number(const ContentType& type, const char* name, bool required)
{
    const auto it = type.parameters.find(name);
    if (it == type.parameters.end()) {
        if (required) {
            throw frames::FrameError(std::string("image/x-raw needs a '") + name +
                                     "' parameter: image/x-raw; width=W; height=H; format=bgr24[; stride=S]");
        }
        return 0;
    }
    std::uint64_t value = 0;
    const auto& text = it->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > UINT32_MAX) {
        throw frames::FrameError(std::string("image/x-raw parameter '") + name + "' is not a valid number: '" + security::client_text(text) + "'");
    }
    return value;
}

// The frame as the analyzer asked for it (`input`).
frames::Frame decode_body(const ContentType& type, std::span<const std::uint8_t> body, runtime::MemoryBudget* memory,
                          const frames::InputRequest& input)
{
    if (type.media_type == "image/jpeg" || type.media_type == "image/jpg") {
        return frames::decode_image(body, frames::ImageEncoding::jpeg, memory, input);
    }
    if (type.media_type == "image/png") {
        return frames::decode_image(body, frames::ImageEncoding::png, memory, input);
    }
    if (type.media_type == "image/bmp" || type.media_type == "image/x-ms-bmp") {
        return frames::decode_image(body, frames::ImageEncoding::bmp, memory, input);
    }
    // image/x-raw
    frames::RawLayout layout;
    const auto format = type.parameters.find("format");
    const auto parsed = format != type.parameters.end() ? frames::parse_raw_pixel_format(format->second) : std::nullopt;
    if (!parsed) {
        throw frames::FrameError("image/x-raw needs 'format' to be one of bgr24, rgb24, bgra, rgba, argb, abgr, gray8, "
                                 "yuv420p, rgb565le, rgb565be, rgb555le, rgb555be");
    }
    layout.format = *parsed;
    layout.width = static_cast<std::uint32_t>(raw_number(type, "width", true));
    layout.height = static_cast<std::uint32_t>(raw_number(type, "height", true));
    layout.stride = raw_number(type, "stride", false);
    return frames::wrap_raw(body, layout, input);
}

// Which stream a request belongs to, if it says: Intel's ?stream-id=, else the live pipeline.
std::optional<std::string> stream_identity(std::string_view query, const std::string& pipeline)
{
    constexpr std::size_t max_identity_bytes = 256;
    std::optional<std::string> identity;
    if (auto id = routing::query_value(query, "stream-id"); id && !id->empty()) {
        identity = "stream-id " + *id;
    } else if (!pipeline.empty()) {
        identity = "pipeline " + pipeline;
    }
    if (identity && identity->size() > max_identity_bytes) {
        throw routing::RouteError(routing::RouteError::Kind::bad_request,
                                  "stream identity '" + security::client_text(*identity) + "' is over " +
                                      std::to_string(max_identity_bytes) + " bytes");
    }
    return identity;
}

std::string pipeline_of(const Request& request, std::string_view query)
{
    std::string pipeline(request[pipeline_header]);
    if (pipeline.empty()) {
        // "pipeline" query parameter: the same as the header, for clients that cannot set headers.
        pipeline = routing::query_value(query, "pipeline").value_or("");
    }
    return pipeline;
}

// GET endpoints of the metrics and the live view (behind the credentials, when configured).
bool is_observability_path(std::string_view path)
{
    return path == "/" || path == "/ui" || path == "/metrics" || path == "/streams" ||
           (path.starts_with("/streams/") && path.ends_with("/view"));
}

// The <id> of /streams/<id>/view, if it is a number.
std::optional<std::uint64_t> view_id(std::string_view path)
{
    constexpr std::string_view prefix = "/streams/";
    constexpr std::string_view suffix = "/view";
    if (!path.starts_with(prefix) || !path.ends_with(suffix) || path.size() <= prefix.size() + suffix.size()) {
        return std::nullopt;
    }
    const auto digits = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
        return std::nullopt;
    }
    return id;
}

bool is_supported_media_type(std::string_view media_type)
{
    return media_type == "image/jpeg" || media_type == "image/jpg" || media_type == "image/png" ||
           media_type == "image/bmp" || media_type == "image/x-ms-bmp" || media_type == "image/x-raw";
}

Response make_response(const Request& request, beast_http::status status)
{
    Response response{status, request.version()};
    response.set(beast_http::field::server, "ava-extension-host");
    response.keep_alive(request.keep_alive());
    if (const auto id = request.find(request_id_header); id != request.end()) {
        response.set(request_id_header, id->value());
    }
    return response;
}

Response json_response(const Request& request, beast_http::status status, std::string body)
{
    auto response = make_response(request, status);
    response.set(beast_http::field::content_type, "application/json");
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

std::string_view code_of(beast_http::status status)
{
    switch (status) {
    case beast_http::status::bad_request:
        return "BadRequest";
    case beast_http::status::unauthorized:
        return "Unauthorized";
    case beast_http::status::forbidden:
        return "Forbidden";
    case beast_http::status::not_found:
        return "NotFound";
    case beast_http::status::method_not_allowed:
        return "MethodNotAllowed";
    case beast_http::status::unsupported_media_type:
        return "UnsupportedMediaType";
    case beast_http::status::service_unavailable:
        return "ServerBusy";
    default:
        return "InternalServerError";
    }
}

void write_strings(JsonWriter& w, const std::vector<std::string>& strings)
{
    w.StartArray();
    for (const auto& s : strings) {
        w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    }
    w.EndArray();
}

void write_optional(JsonWriter& w, const std::string& s)
{
    if (s.empty()) {
        w.Null();
    } else {
        w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    }
}

void write_optional(JsonWriter& w, const std::optional<std::string>& s)
{
    if (s) {
        w.String(s->c_str(), static_cast<rapidjson::SizeType>(s->size())); // "" is a value here, not "none"
    } else {
        w.Null();
    }
}

// A declared schema as the JSON object it is; null when the plugin declared none.
void write_schema(JsonWriter& w, const char* key, const loading::ParameterSchema* schema)
{
    w.Key(key);
    if (schema != nullptr) {
        schema->document().Accept(w);
    } else {
        w.Null();
    }
}

void write_value(JsonWriter& w, std::uint64_t n) { w.Uint64(n); }
void write_value(JsonWriter& w, const std::string& s) { write_optional(w, s); }

// "key": {"plugins": ..., "config": ...}: the listing splits each counter by what was reloaded.
template <typename T>
void write_by_kind(JsonWriter& w, const char* key, const T& plugins, const T& config)
{
    w.Key(key);
    w.StartObject();
    w.Key("plugins");
    write_value(w, plugins);
    w.Key("config");
    write_value(w, config);
    w.EndObject();
}

void write_route_table(JsonWriter& w, const routing::RouteTable& table)
{
    w.StartObject();
    w.Key("defaultAnalyzer");
    w.String(table.default_analyzer.c_str());
    w.Key("defaultPath");
    w.String(table.default_path.c_str());
    w.Key("routes");
    w.StartArray();
    for (const auto& route : table.routes) {
        w.StartObject();
        w.Key("analyzer");
        w.String(route.analyzer.c_str());
        w.Key("httpPath");
        write_optional(w, route.http_path);
        w.Key("extensionConfiguration");
        write_optional(w, route.extension_configuration);
        w.Key("pipeline");
        write_optional(w, route.pipeline);
        w.Key("parameters");
        w.RawValue(route.parameters_json.c_str(), route.parameters_json.size(), rapidjson::kObjectType);
        w.Key("overload");
        w.String(route.overload == routing::Overload::latest ? "latest" : "queue");
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
}

} // namespace

RequestHandler::RequestHandler(const routing::Router& router, runtime::Admin& admin, security::Credentials credentials,
                               runtime::MemoryBudget& memory, StreamSessions::Limits stream_limits,
                               const runtime::Readiness& readiness, live::Telemetry* telemetry)
    : router_(router), admin_(admin), credentials_(std::move(credentials)), memory_(memory), streams_(stream_limits),
      readiness_(readiness), telemetry_(telemetry)
{
}

Response RequestHandler::error(const Request& request, beast_http::status status, std::string_view message)
{
    return json_response(request, status, inferences::error_json(code_of(status), message));
}

std::optional<Response> RequestHandler::check_header(const Request& request) const
{
    const auto target = std::string_view(request.target());
    const auto path = target.substr(0, target.find('?'));
    if (request.method() == beast_http::verb::get && (path == "/healthz" || path == "/readyz")) {
        return std::nullopt;
    }
    if (!security::authorize(credentials_, std::string_view(request[beast_http::field::authorization]))) {
        auto response = error(request, beast_http::status::unauthorized, "missing or wrong credentials");
        response.set(beast_http::field::www_authenticate, R"(Basic realm="ava-extension-host", Bearer)");
        return response;
    }
    if (request.method() == beast_http::verb::get &&
        (path == "/analyzers" || is_observability_path(path))) {
        return std::nullopt;
    }
    if (path == admin_reload_path) {
        if (request.method() != beast_http::verb::post) {
            auto response = error(request, beast_http::status::method_not_allowed,
                                  "method " + security::client_text(request.method_string()) +
                                      " is not allowed: POST to reload");
            response.set(beast_http::field::allow, "POST");
            return response;
        }
        return std::nullopt;
    }
    if (request.method() != beast_http::verb::post) {
        auto response = error(request, beast_http::status::method_not_allowed,
                              "method " + security::client_text(request.method_string()) + " is not allowed: POST an image");
        response.set(beast_http::field::allow, "POST");
        return response;
    }
    const auto type = parse_content_type(request[beast_http::field::content_type]);
    if (!is_supported_media_type(type.media_type)) {
        return error(request, beast_http::status::bad_request,
                     "unsupported Content-Type '" + security::client_text(request[beast_http::field::content_type]) +
                         "': expected image/jpeg, image/png, image/bmp or image/x-raw");
    }
    return std::nullopt;
}

std::optional<Response> RequestHandler::check_origin(const Request& request, bool from_loopback) const
{
    const auto target = std::string_view(request.target());
    if (from_loopback || credentials_.required() || !target.starts_with("/admin/")) {
        return std::nullopt;
    }
    return error(request, beast_http::status::forbidden,
                 "admin endpoints are served to other machines only when credentials are configured "
                 "(credentials.username/password or bearerToken); from this machine use 127.0.0.1");
}

std::optional<Response> RequestHandler::answer_directly(const Request& request) const
{
    if (auto refused = check_header(request)) {
        return refused;
    }
    const auto target = std::string_view(request.target());
    const auto path = target.substr(0, target.find('?'));
    if (request.method() == beast_http::verb::get && path == "/healthz") {
        return json_response(request, beast_http::status::ok, R"({"status":"ok"})");
    }
    if (request.method() == beast_http::verb::get && path == "/readyz") {
        return readiness(request);
    }
    if (request.method() == beast_http::verb::get && path == "/analyzers") {
        return listing(request);
    }
    if (request.method() == beast_http::verb::get && is_observability_path(path)) {
        return observability(request, path);
    }
    if (path == admin_reload_path) {
        return std::nullopt; // on a frame worker, see analyze()
    }
    if (request.body().empty()) {
        // An empty POST naming its stream ends the stream (Intel's clients): answered by analyze().
        const auto query = target.substr(std::min(target.size(), path.size() + 1));
        try {
            if (stream_identity(query, pipeline_of(request, query))) {
                return std::nullopt;
            }
        } catch (const routing::RouteError& e) {
            return error(request, beast_http::status::bad_request, e.what());
        }
        return error(request, beast_http::status::bad_request,
                     "empty body: POST the image bytes (or name the stream with ?stream-id= to end it)");
    }
    return std::nullopt;
}

Response RequestHandler::analyze(const Request& request, std::chrono::steady_clock::time_point received) const
{
    const auto target = std::string_view(request.target());
    const auto question = target.find('?');
    const auto path = target.substr(0, question);
    const auto query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    if (path == admin_reload_path) {
        return reload(request);
    }
    // Counted whichever way the frame leaves: once routed, under its route and analyzer.
    struct Counted {
        Counted(live::Telemetry* t, std::chrono::steady_clock::time_point received) : telemetry(t), started(received) {}
        Counted(const Counted&) = delete;
        Counted& operator=(const Counted&) = delete;
        live::Telemetry* telemetry;
        const metrics::FrameSeries* series = nullptr;
        void set(metrics::Outcome o) noexcept
        {
            outcome = o;
            is_frame = true;
        }
        metrics::Outcome outcome = metrics::Outcome::client_error;
        bool is_frame = false; // an empty POST ending a stream is not a frame
        std::chrono::steady_clock::time_point started;
        ~Counted()
        {
            if (telemetry == nullptr || !is_frame) {
                return;
            }
            if (series == nullptr) {
                series = &telemetry->metrics.frames(metrics::Protocol::http, "", "");
            } else {
                series->receive_to_answer_seconds->Observe(metrics::seconds_since(started));
            }
            series->count(outcome);
        }
    } counted(telemetry_, received);
    try {
        const auto pipeline = pipeline_of(request, query);
        const auto identity = stream_identity(query, pipeline);
        if (request.body().empty() && identity) {
            const auto ended = streams_.end(*identity);
            spdlog::debug("HTTP stream '{}' ended by the client ({} session(s))", security::client_text(*identity), ended);
            return make_response(request, beast_http::status::no_content);
        }
        counted.set(metrics::Outcome::client_error); // until it is answered otherwise
        const auto route = router_.resolve_http(path, query, pipeline);
        const runtime::LogScope scope({.pipeline = pipeline, .analyzer = route.analyzer->name(), .route = route.route});
        std::shared_ptr<live::LiveStream> live;
        if (telemetry_ != nullptr) {
            counted.series = &telemetry_->metrics.frames(metrics::Protocol::http, route.route, route.analyzer->name());
            if (identity) {
                live = telemetry_->streams.touch_http(*identity, {"http", pipeline, "", route.analyzer->name(), route.route});
            }
        }
        live::FrameInFlight in_flight(live.get());
        auto step_started = std::chrono::steady_clock::now();
        const auto frame = decode_body(parse_content_type(request[beast_http::field::content_type]), request.body(), &memory_,
                                       route.analyzer->plugin().input());
        if (counted.series != nullptr) {
            counted.series->decode_seconds->Observe(metrics::seconds_since(step_started));
            step_started = std::chrono::steady_clock::now();
        }
        loading::StreamInfo info;
        info.pipeline_name = pipeline;
        info.route = route.route;
        info.parameters_json = route.parameters_json;
        inferences::InferenceList inferences;
        counted.set(metrics::Outcome::analyzer_error);
        if (identity) {
            const auto lease = streams_.acquire(*identity, route, info);
            inferences = lease.session().process(frame);
        } else {
            inferences = route.analyzer->process_once(info, frame);
        }
        if (counted.series != nullptr) {
            counted.series->analysis_seconds->Observe(metrics::seconds_since(step_started));
        }
        counted.set(inferences.empty() ? metrics::Outcome::none : metrics::Outcome::inferences);
        in_flight.succeeded();
        if (live) {
            live->show(frame, inferences);
        }
        if (inferences.empty()) {
            // No prepare_payload(): it would add "Content-Length: 0", which RFC 9110 forbids on a 204.
            return make_response(request, beast_http::status::no_content);
        }
        return json_response(request, beast_http::status::ok, inferences::to_json(inferences));
    } catch (const routing::RouteError& e) {
        counted.set(metrics::Outcome::client_error);
        return error(request,
                     e.kind() == routing::RouteError::Kind::not_found ? beast_http::status::not_found
                                                                      : beast_http::status::bad_request,
                     e.what());
    } catch (const frames::FrameError& e) {
        counted.set(metrics::Outcome::client_error);
        return error(request, beast_http::status::bad_request, e.what());
    } catch (const StreamSessionsFull& e) {
        counted.set(metrics::Outcome::refused);
        return error(request, beast_http::status::service_unavailable, e.what());
    } catch (const frames::FrameBudgetExceeded& e) {
        counted.set(metrics::Outcome::refused);
        return error(request, beast_http::status::service_unavailable, e.what()); // Retry-After: the server adds it
    } catch (const loading::AnalyzerUnavailable& e) {
        counted.set(metrics::Outcome::refused);
        return error(request, beast_http::status::service_unavailable, e.what());
    } catch (const loading::AnalyzerError& e) {
        if (e.is_callers_fault()) {
            counted.set(metrics::Outcome::client_error);
            return error(request, beast_http::status::bad_request, e.what());
        }
        counted.set(metrics::Outcome::analyzer_error);
        spdlog::error("POST {}: analyzer failed: {}", security::client_text(path), e.what());
        return error(request, beast_http::status::internal_server_error, e.what());
    } catch (const std::exception& e) {
        spdlog::error("POST {}: {}", security::client_text(path), e.what());
        return error(request, beast_http::status::internal_server_error, e.what());
    }
}

void RequestHandler::count_refused() const
{
    if (telemetry_ != nullptr) {
        telemetry_->metrics.frames(metrics::Protocol::http, "", "").count(metrics::Outcome::refused);
    }
}

std::shared_ptr<live::LiveStream> RequestHandler::view_of(const Request& request) const
{
    const auto target = std::string_view(request.target());
    const auto id = view_id(target.substr(0, target.find('?')));
    if (telemetry_ == nullptr || !id || request.method() != beast_http::verb::get || check_header(request)) {
        return nullptr;
    }
    return telemetry_->streams.find(*id);
}

Response RequestHandler::observability(const Request& request, std::string_view path) const
{
    if (telemetry_ == nullptr) {
        return error(request, beast_http::status::not_found, "no metrics or live view in this host");
    }
    if (path == "/metrics") {
        auto response = make_response(request, beast_http::status::ok);
        response.set(beast_http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        response.body() = telemetry_->metrics.scrape();
        response.prepare_payload();
        return response;
    }
    if (path == "/streams") {
        return json_response(request, beast_http::status::ok, live::streams_json(telemetry_->streams, telemetry_->metrics));
    }
    if (path == "/" || path == "/ui") {
        auto response = make_response(request, beast_http::status::ok);
        response.set(beast_http::field::content_type, "text/html; charset=utf-8");
        response.set(beast_http::field::cache_control, "no-cache");
        response.body() = std::string(live::ui_page());
        response.prepare_payload();
        return response;
    }
    // A view the server did not take (view_of()): no such live stream.
    return error(request, beast_http::status::not_found,
                 "no live stream " + security::client_text(path) + ": GET /streams lists them");
}

Response RequestHandler::listing(const Request& request) const
{
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    w.Key("analyzers");
    w.StartArray();
    for (const auto& analyzer : admin_.analyzers()) {
        w.StartObject();
        w.Key("name");
        w.String(analyzer.name.c_str());
        w.Key("version");
        w.String(analyzer.version.c_str());
        w.Key("abiVersion");
        w.String(analyzer.abi_version.c_str());
        w.Key("description");
        w.String(analyzer.description.c_str());
        w.Key("source");
        w.String(analyzer.source.c_str());
        w.Key("loadedFrom");
        w.String(analyzer.loaded_from.c_str());
        w.Key("loadedAt");
        w.String(runtime::iso_time(analyzer.loaded_at).c_str());
        w.Key("state");
        w.String(analyzer.draining ? "draining" : "active");
        w.Key("isolation");
        w.String(loading::to_string(analyzer.isolation));
        write_schema(w, "configurationSchema", analyzer.configuration_schema.get());
        write_schema(w, "parametersSchema", analyzer.parameters_schema.get());
        w.Key("input"); // ABI 1.2: what the host decodes frames to for it
        w.String(analyzer.input.describe().c_str());
        if (analyzer.isolation == loading::Isolation::process) {
            w.Key("worker");
            w.StartObject();
            w.Key("state");
            w.String(loading::to_string(analyzer.health.state));
            w.Key("pid");
            w.Int(analyzer.health.pid);
            w.Key("restarts");
            w.Uint64(analyzer.health.restarts);
            w.Key("lastFailure");
            write_optional(w, analyzer.health.last_failure);
            w.EndObject();
        }
        w.EndObject();
    }
    w.EndArray();
    w.Key("routes");
    write_strings(w, router_.http_paths());
    w.Key("routeTable");
    write_route_table(w, *router_.table());
    const auto counters = admin_.counters();
    write_by_kind(w, "reloads", counters.plugins.reloads, counters.config_reloads);
    write_by_kind(w, "refusals", counters.plugins.refusals, counters.config_refusals);
    write_by_kind(w, "lastRefusals", counters.plugins.last_refusal, counters.last_config_refusal);
    w.EndObject();
    return json_response(request, beast_http::status::ok, std::string(buffer.GetString(), buffer.GetSize()));
}

Response RequestHandler::readiness(const Request& request) const
{
    std::vector<std::string> reasons;
    if (readiness_.http_enabled && !readiness_.http_bound) {
        reasons.emplace_back("the HTTP front-end is not bound yet");
    }
    if (readiness_.grpc_enabled && !readiness_.grpc_bound) {
        reasons.emplace_back("the gRPC front-end is not bound yet");
    }
    if (readiness_.draining) {
        reasons.emplace_back("draining: the host is shutting down");
    }
    const auto missing = router_.missing_analyzers();
    for (const auto& name : missing) {
        reasons.push_back("analyzer '" + name + "' named by the configuration is not loaded");
    }
    std::vector<std::string> failed;
    for (const auto& analyzer : admin_.analyzers()) {
        if (!analyzer.draining && analyzer.health.state == loading::PluginHealth::State::failed) {
            failed.push_back(analyzer.name);
            reasons.push_back("analyzer '" + analyzer.name + "' is marked failed: " + analyzer.health.last_failure);
        }
    }
    const auto counters = admin_.counters();
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    w.Key("failedAnalyzers");
    write_strings(w, failed);
    w.Key("ready");
    w.Bool(reasons.empty());
    w.Key("reasons");
    write_strings(w, reasons);
    w.Key("missingAnalyzers");
    write_strings(w, missing);
    // A configuration file refused on reload leaves the previous one serving: worth knowing, not unready.
    w.Key("lastConfigRefusal");
    write_optional(w, counters.last_config_refusal);
    w.Key("lastPluginRefusal");
    write_optional(w, counters.plugins.last_refusal);
    w.EndObject();
    return json_response(request, reasons.empty() ? beast_http::status::ok : beast_http::status::service_unavailable,
                         std::string(buffer.GetString(), buffer.GetSize()));
}

Response RequestHandler::reload(const Request& request) const
{
    runtime::ReloadReport report;
    try {
        report = admin_.reload();
    } catch (const std::exception& e) {
        return error(request, beast_http::status::service_unavailable, std::string("reload not done: ") + e.what());
    }
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    w.Key("ok");
    w.Bool(report.ok());
    w.Key("config");
    if (report.config) {
        w.StartObject();
        w.Key("file");
        w.String(report.config->file.c_str());
        w.Key("applied");
        w.Bool(report.config->applied);
        w.Key("error");
        write_optional(w, report.config->error);
        w.Key("restartRequired");
        write_strings(w, report.config->restart_required);
        w.EndObject();
    } else {
        w.Null(); // no configuration file: nothing to re-read
    }
    w.Key("plugins");
    w.StartObject();
    w.Key("loaded");
    write_strings(w, report.plugins.loaded);
    w.Key("removed");
    write_strings(w, report.plugins.removed);
    w.Key("refused");
    write_strings(w, report.plugins.refused);
    w.EndObject();
    w.EndObject();
    return json_response(request, report.ok() ? beast_http::status::ok : beast_http::status::unprocessable_entity,
                         std::string(buffer.GetString(), buffer.GetSize()));
}

} // namespace ava::http
