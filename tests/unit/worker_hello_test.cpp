// isolation::read_hello on hellos as a worker writes them (wire.h Writer), and on the lies a plugin's
// constructor can tell in one.
#include "isolation/worker_hello.h"

#include <gtest/gtest.h>

#include <string>

namespace ava::isolation {
namespace {

const std::filesystem::path copy = "/tmp/shadow/libx.1.0.so";

Message hello_message(const std::string& name, const std::string& path, std::int32_t concurrency = 1)
{
    Writer w;
    w.put(std::uint8_t{1}).put_string(name).put_string("1.0.0").put_string("d").put_string(path);
    w.put(std::uint32_t{AVA_PLUGIN_ABI_MAJOR}).put(std::uint32_t{2}).put(concurrency);
    w.put_optional(nullptr).put_optional(R"({"type":"object"})");
    w.put(std::uint32_t{2}).put(std::uint32_t{64}).put(std::uint32_t{48}).put(std::uint32_t{0});
    return Message{MessageHeader{0, MessageKind::hello, static_cast<std::uint32_t>(w.size())}, w.take(), {}};
}

TEST(WorkerHello, AWellFormedHelloIsReadFieldByField)
{
    const auto hello = read_hello(hello_message("x", copy.string()), copy);
    EXPECT_EQ(hello.name, "x");
    EXPECT_EQ(hello.concurrency, AVA_CONCURRENCY_PER_SESSION);
    EXPECT_EQ(hello.loaded_path, copy);
    EXPECT_FALSE(hello.configuration_schema);
    EXPECT_EQ(hello.parameters_schema, R"({"type":"object"})");
    EXPECT_EQ(hello.input_min_width, 64u);
    EXPECT_TRUE(hello.same_plugin(read_hello(hello_message("x", copy.string()), copy)));
    EXPECT_FALSE(hello.same_plugin(read_hello(hello_message("y", copy.string()), copy)));
}

TEST(WorkerHello, LiesAreWireErrors)
{
    EXPECT_THROW(read_hello(hello_message("x", "/tmp/shadow/liby.1.0.so"), copy), WireError); // another copy
    EXPECT_THROW(read_hello(hello_message("x", "/etc/passwd"), copy), WireError);
    EXPECT_THROW(read_hello(hello_message("x", copy.string(), 7), copy), WireError);   // no such concurrency
    EXPECT_THROW(read_hello(hello_message("x\ny", copy.string()), copy), WireError);   // a forged log line
    EXPECT_THROW(read_hello(hello_message("", copy.string()), copy), WireError);
    EXPECT_THROW(read_hello(hello_message(std::string(129, 'x'), copy.string()), copy), WireError);
    auto trailing = hello_message("x", copy.string());
    trailing.payload += '!';
    EXPECT_THROW(read_hello(trailing, copy), WireError);
    auto truncated = hello_message("x", copy.string());
    truncated.payload.pop_back();
    EXPECT_THROW(read_hello(truncated, copy), WireError);
    auto other_kind = hello_message("x", copy.string());
    other_kind.header.kind = MessageKind::process;
    EXPECT_THROW(read_hello(other_kind, copy), WireError);
}

TEST(WorkerHello, ARefusalBecomesOnePrintableLineOfAtMost4KiB)
{
    Writer w;
    w.put(std::uint8_t{0}).put_string("refused:\n[error] forged\x1b[31m " + std::string(5000, '\xff'));
    const Message message{MessageHeader{0, MessageKind::hello, static_cast<std::uint32_t>(w.size())}, w.take(), {}};
    try {
        read_hello(message, copy);
        FAIL() << "a refusal must throw";
    } catch (const WorkerLoadRefused& e) {
        const std::string reason = e.what();
        EXPECT_LE(reason.size(), max_refusal_bytes);
        EXPECT_GT(reason.size(), max_refusal_bytes - 3); // cut at a character, not much before
        EXPECT_EQ(reason.find_first_of("\n\x1b"), std::string::npos);
        EXPECT_EQ(reason.rfind("refused: [error] forged [31m \xEF\xBF\xBD", 0), 0u) << reason.substr(0, 40);
        EXPECT_EQ(reason.substr(reason.size() - 3), "\xEF\xBF\xBD"); // whole U+FFFD at the end
    }
}

} // namespace
} // namespace ava::isolation
