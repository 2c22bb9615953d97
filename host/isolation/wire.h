#pragma once
// The host <-> analyzer worker protocol: length-prefixed messages on a Unix stream socket, each optionally
// carrying one file descriptor (SCM_RIGHTS: a sender's shared-memory file, mapped by the worker instead of
// copying frames through the socket). Payloads are flat little structs written by Writer and read back by
// Reader, which checks every length: the host reads what a worker sends as hostile input.

#include "runtime/unique_fd.h"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace ava::isolation {

enum class MessageKind : std::uint32_t {
    hello = 1,        // worker -> host once, after loading the plugin: the descriptor or the load error
    create = 2,       // instance configuration -> instance id
    destroy = 3,
    open_stream = 4,  // instance id + stream info -> session id
    close_stream = 5,
    process = 6,      // session id + frame location -> status + recorded sink calls
    process_once = 7, // instance id + stream info + frame location -> as process (open, process, close)
};

struct MessageHeader {
    std::uint64_t request_id = 0; // replies carry the request's id
    MessageKind kind{};
    std::uint32_t payload_bytes = 0;
};

// Far above any real payload (a 4 MiB answer cap plus strings): a larger length is a broken peer.
inline constexpr std::uint32_t max_payload_bytes = 16u << 20;

// The peer broke the protocol or the socket failed; the connection is unusable.
class WireError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Writer {
public:
    template <typename T>
        requires std::is_trivially_copyable_v<T>
    Writer& put(const T& value)
    {
        bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
        return *this;
    }
    Writer& put_string(std::string_view text)
    {
        put(static_cast<std::uint32_t>(text.size()));
        bytes_.append(text);
        return *this;
    }
    // A C string that may be null (the ABI's "none").
    Writer& put_optional(const char* text)
    {
        put(static_cast<std::uint8_t>(text != nullptr));
        if (text != nullptr) {
            put_string(text);
        }
        return *this;
    }
    Writer& put_raw(std::string_view bytes)
    {
        bytes_.append(bytes);
        return *this;
    }
    std::size_t size() const noexcept { return bytes_.size(); }
    const std::string& bytes() const noexcept { return bytes_; }
    std::string take() noexcept { return std::move(bytes_); }

private:
    std::string bytes_;
};

class Reader {
public:
    explicit Reader(std::string_view bytes) : rest_(bytes) {}

    template <typename T>
        requires std::is_trivially_copyable_v<T>
    T get()
    {
        T value;
        std::memcpy(&value, take(sizeof value).data(), sizeof value);
        return value;
    }
    std::string_view get_string() { return take(get<std::uint32_t>()); }
    bool get_present() { return get<std::uint8_t>() != 0; }
    bool done() const noexcept { return rest_.empty(); }

private:
    std::string_view take(std::size_t n)
    {
        if (n > rest_.size()) {
            throw WireError("message truncated: " + std::to_string(n) + " bytes wanted, " +
                            std::to_string(rest_.size()) + " left");
        }
        const auto out = rest_.substr(0, n);
        rest_.remove_prefix(n);
        return out;
    }
    std::string_view rest_;
};

struct Message {
    MessageHeader header;
    std::string payload;
    runtime::UniqueFd fd; // invalid when none came with it
};

// Writes one whole message (and `fd`, when >= 0). Throws WireError. Not thread-safe: callers serialise.
void send_message(int socket, const MessageHeader& header, std::string_view payload, int fd = -1);
// Reads one whole message. Returns false on a clean end of stream before a header. Throws WireError.
bool receive_message(int socket, Message& message);

} // namespace ava::isolation
