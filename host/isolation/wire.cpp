#include "wire.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace ava::isolation {
namespace {

[[noreturn]] void fail(const char* what)
{
    throw WireError(std::string(what) + ": " + std::strerror(errno));
}

void read_exactly(int socket, char* data, std::size_t size)
{
    while (size > 0) {
        const auto n = ::recv(socket, data, size, 0);
        if (n == 0) {
            throw WireError("connection closed in the middle of a message");
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("recv");
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

} // namespace

void send_message(int socket, const MessageHeader& header, std::string_view payload, int fd)
{
    if (payload.size() > max_payload_bytes) {
        throw WireError("message of " + std::to_string(payload.size()) + " bytes is over the protocol's limit");
    }
    MessageHeader sent = header;
    sent.payload_bytes = static_cast<std::uint32_t>(payload.size());
    iovec parts[2] = {{&sent, sizeof sent}, {const_cast<char*>(payload.data()), payload.size()}};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = payload.empty() ? 1 : 2;
    if (fd >= 0) {
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&message);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    std::size_t total = sizeof sent + payload.size();
    // The descriptor travels with the first byte; later partial writes carry the rest.
    while (total > 0) {
        const auto n = ::sendmsg(socket, &message, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("sendmsg");
        }
        total -= static_cast<std::size_t>(n);
        message.msg_control = nullptr;
        message.msg_controllen = 0;
        auto written = static_cast<std::size_t>(n);
        while (written > 0 && message.msg_iovlen > 0) {
            auto& part = message.msg_iov[0];
            const auto step = std::min(written, part.iov_len);
            part.iov_base = static_cast<char*>(part.iov_base) + step;
            part.iov_len -= step;
            written -= step;
            if (part.iov_len == 0) {
                ++message.msg_iov;
                --message.msg_iovlen;
            }
        }
    }
}

bool receive_message(int socket, Message& message)
{
    // One call reads the header and, usually, the whole payload: requests and replies are small, and on a
    // channel the peer sends nothing more until it is answered, so no byte of a next message can come along.
    constexpr std::size_t first_read = 16 << 10;
    MessageHeader header{};
    message.payload.resize(first_read);
    iovec parts[2] = {{&header, sizeof header}, {message.payload.data(), first_read}};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr m{};
    m.msg_iov = parts;
    m.msg_iovlen = 2;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(socket, &m, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        return false;
    }
    if (n < 0) {
        fail("recvmsg");
    }
    message.fd.reset();
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            message.fd.reset(fd);
        }
    }
    if ((m.msg_flags & MSG_CTRUNC) != 0) {
        throw WireError("descriptor truncated in transit");
    }
    auto got = static_cast<std::size_t>(n);
    std::size_t payload_got = 0;
    if (got < sizeof header) {
        read_exactly(socket, reinterpret_cast<char*>(&header) + got, sizeof header - got);
    } else {
        payload_got = got - sizeof header;
    }
    if (header.payload_bytes > max_payload_bytes) {
        throw WireError("message announces " + std::to_string(header.payload_bytes) +
                        " bytes, over the protocol's limit");
    }
    if (payload_got > header.payload_bytes) {
        throw WireError("bytes after the end of a message");
    }
    message.header = header;
    message.payload.resize(header.payload_bytes);
    read_exactly(socket, message.payload.data() + payload_got, message.payload.size() - payload_got);
    return true;
}

} // namespace ava::isolation
