#include "reload_support.h"

#include <fstream>
#include <iterator>
#include <regex>
#include <thread>

namespace ava::test {

std::filesystem::path test_plugin(const std::string& build) { return test_plugins_dir() / ("lib" + build + ".so"); }

namespace {

std::string read_bytes(const std::filesystem::path& file)
{
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::filesystem::path& file, const std::string& bytes)
{
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << bytes;
}

} // namespace

void copy_over(const std::filesystem::path& source, const std::filesystem::path& target)
{
    write_bytes(target, read_bytes(source));
}

void move_into_place(const std::filesystem::path& source, const std::filesystem::path& target)
{
    const auto temporary = target.parent_path() / (target.filename().string() + ".partial");
    write_bytes(temporary, read_bytes(source));
    std::filesystem::rename(temporary, target);
}

void write_text(const std::filesystem::path& file, const std::string& text, bool by_rename)
{
    if (!by_rename) {
        return write_bytes(file, text);
    }
    const auto temporary = file.parent_path() / ("." + file.filename().string() + ".swp");
    write_bytes(temporary, text);
    std::filesystem::rename(temporary, file);
}

std::string answer(std::uint16_t port, const std::string& target, const Headers& headers)
{
    const auto reply = http_post(port, target, "image/x-raw; width=2; height=2; format=gray8", std::string(4, '\0'),
                                 headers);
    static const std::regex value(R"re("classification":\{"tag":\{"value":"([^"]*)")re");
    std::smatch match;
    if (reply.status == 200 && std::regex_search(reply.body, match, value)) {
        return match[1];
    }
    return "HTTP " + std::to_string(reply.status) + ": " + reply.body;
}

rapidjson::Document listing(std::uint16_t port, const Headers& headers)
{
    const auto reply = http_request(port, "GET", "/analyzers", "", "", headers);
    rapidjson::Document doc;
    doc.Parse(reply.body.c_str());
    if (reply.status != 200 || doc.HasParseError() || !doc.IsObject()) {
        doc.SetObject();
    }
    return doc;
}

std::vector<ListedAnalyzer> listed_analyzers(std::uint16_t port)
{
    const auto doc = listing(port);
    std::vector<ListedAnalyzer> out;
    if (!doc.HasMember("analyzers")) {
        return out;
    }
    for (const auto& a : doc["analyzers"].GetArray()) {
        out.push_back({a["name"].GetString(), a["version"].GetString(), a["state"].GetString(),
                       a["source"].GetString(), a["loadedFrom"].GetString()});
    }
    return out;
}

std::uint64_t counter(std::uint16_t port, const char* group, const char* kind)
{
    const auto doc = listing(port);
    return doc.HasMember(group) ? doc[group][kind].GetUint64() : 0;
}

bool mapped(pid_t pid, const std::filesystem::path& file)
{
    return maps_of_host_and_workers(pid).find(file.string()) != std::string::npos;
}

} // namespace ava::test
