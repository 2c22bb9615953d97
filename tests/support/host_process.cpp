#include "host_process.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <gtest/gtest.h>

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ava::test {
namespace {

// scripts/sanitize.sh sets ASAN_OPTIONS/UBSAN_OPTIONS/TSAN_OPTIONS exitcode=66: a host (or host command)
// that exits with it stopped on a sanitizer report, which fails the test that ran it.
constexpr int sanitizer_exit_code = 66;

void check_sanitizer_exit(int status, const std::string& log)
{
    if (status == sanitizer_exit_code) {
        ADD_FAILURE() << "the host stopped on a sanitizer report (exit code " << sanitizer_exit_code << "):\n" << log;
    }
}

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Forks and execs the host with stdout/stderr to `log`. The child gets its own process group so a
// crashing test never leaves it behind.
pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log)
{
    std::vector<std::string> argv_storage{host_binary().string()};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

int wait_for_exit(pid_t pid, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
}

std::uint16_t json_port(const std::string& json, const char* key)
{
    rapidjson::Document doc;
    doc.Parse(json.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(key)) {
        throw std::runtime_error("bad ready file: " + json);
    }
    return static_cast<std::uint16_t>(doc[key].GetUint());
}

} // namespace

std::filesystem::path host_binary() { return AVA_TEST_HOST_BINARY; }
std::filesystem::path built_plugins_dir() { return AVA_TEST_PLUGINS_DIR; }

void copy_plugins(const std::filesystem::path& folder, std::initializer_list<const char*> test_plugins)
{
    for (const auto& entry : std::filesystem::directory_iterator(built_plugins_dir())) {
        std::filesystem::copy(entry.path(), folder / entry.path().filename());
    }
    for (const char* name : test_plugins) {
        std::filesystem::copy(test_plugins_dir() / name, folder / name);
    }
}
std::filesystem::path test_plugins_dir() { return AVA_TEST_TEST_PLUGINS_DIR; }
std::filesystem::path schema_file() { return AVA_TEST_SCHEMA_FILE; }

TempDir::TempDir()
{
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("ava-test." + std::to_string(::getpid()) + "." + std::to_string(random()));
    std::filesystem::create_directories(path_);
}

TempDir::~TempDir()
{
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

HostProcess::HostProcess(std::vector<std::string> extra_args, std::filesystem::path plugins_dir)
{
    const auto ready = dir_.path() / "ready.json";
    std::vector<std::string> args{"--http-port", "0", "--grpc-port", "0", "--plugins-dir", plugins_dir.string(),
                                  "--ready-file", ready.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_ = spawn(args, dir_.path() / "host.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(ready)) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("host exited before serving:\n" + log());
        }
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("host not ready after 30 s:\n" + log());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const auto json = read_file(ready);
    http_port_ = json_port(json, "http_port");
    grpc_port_ = json_port(json, "grpc_port");
}

HostProcess::~HostProcess()
{
    if (pid_ > 0 && terminate() < 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

bool HostProcess::running() const
{
    if (pid_ <= 0) {
        return false;
    }
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ && WIFEXITED(status)) {
        check_sanitizer_exit(WEXITSTATUS(status), log());
    }
    return r == 0;
}

std::string HostProcess::log() const { return read_file(dir_.path() / "host.log"); }

int HostProcess::terminate(std::chrono::milliseconds grace)
{
    if (pid_ <= 0) {
        return -1;
    }
    ::kill(pid_, SIGTERM);
    const int status = wait_for_exit(pid_, grace);
    if (status >= 0) {
        pid_ = -1;
        check_sanitizer_exit(status, log());
    }
    return status;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

std::pair<int, std::string> run_host_command(const std::vector<std::string>& args)
{
    TempDir dir;
    const auto log = dir.path() / "out.log";
    const pid_t pid = spawn(args, log);
    int status = wait_for_exit(pid, std::chrono::seconds(60));
    if (status < 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    auto output = read_file(log);
    check_sanitizer_exit(status, output);
    return {status, std::move(output)};
}

HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& content_type, const std::string& body, const Headers& headers)
{
    namespace beast = boost::beast;
    namespace http = beast::http;
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(60));
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> request{http::string_to_verb(method), target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.set(http::field::user_agent, "Azure Media Services");
    request.set(http::field::accept, "application/json");
    if (!content_type.empty()) {
        request.set(http::field::content_type, content_type);
    }
    for (const auto& [name, value] : headers) {
        request.set(name, value);
    }
    request.body() = body;
    request.prepare_payload();
    beast::error_code write_error;
    http::write(stream, request, write_error); // the server may answer (e.g. 400) before taking the whole body
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1u << 30);
    parser.skip(method == "HEAD");
    http::read(stream, buffer, parser);
    auto response = parser.release();
    HttpReply reply;
    reply.status = static_cast<int>(response.result_int());
    for (const auto& field : response) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        reply.headers[name] = std::string(field.value());
    }
    reply.body = std::move(response.body());
    beast::error_code ignored;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    return reply;
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds wait)
{
    namespace beast = boost::beast;
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    stream.expires_after(wait);
    boost::asio::write(stream.socket(), boost::asio::buffer(bytes));
    std::string received;
    char chunk[4096];
    for (;;) {
        beast::error_code ec;
        const auto n = stream.read_some(boost::asio::buffer(chunk), ec);
        received.append(chunk, n);
        if (ec) {
            break; // closed by the server, or our wait ran out
        }
    }
    return received;
}

std::string schema_violation(const std::string& json)
{
    rapidjson::Document schema_doc;
    const auto schema_text = read_file(schema_file());
    schema_doc.Parse(schema_text.c_str());
    if (schema_doc.HasParseError()) {
        return "cannot parse the schema file " + schema_file().string();
    }
    const rapidjson::SchemaDocument schema(schema_doc);
    rapidjson::Document doc;
    doc.Parse(json.c_str());
    if (doc.HasParseError()) {
        return "body is not JSON: " + json;
    }
    rapidjson::SchemaValidator validator(schema);
    if (doc.Accept(validator)) {
        return "";
    }
    rapidjson::StringBuffer where;
    validator.GetInvalidSchemaPointer().StringifyUriFragment(where);
    rapidjson::StringBuffer what;
    validator.GetInvalidDocumentPointer().StringifyUriFragment(what);
    return std::string("schema keyword '") + validator.GetInvalidSchemaKeyword() + "' failed at schema " +
           where.GetString() + ", document " + what.GetString() + " in " + json;
}

std::string maps_of_host_and_workers(pid_t host)
{
    // A worker may exit while its maps are read (the kernel then fails the read): it maps nothing any more.
    const auto read = [](const std::filesystem::path& file) {
        try {
            std::ifstream in(file);
            return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        } catch (const std::exception&) {
            return std::string();
        }
    };
    const std::filesystem::path proc = "/proc/" + std::to_string(host);
    std::string text = read(proc / "maps");
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator(proc / "task", ec)) {
        std::istringstream children(read(task.path() / "children"));
        for (pid_t child = 0; children >> child;) {
            text += read("/proc/" + std::to_string(child) + "/maps");
        }
    }
    return text;
}

} // namespace ava::test
