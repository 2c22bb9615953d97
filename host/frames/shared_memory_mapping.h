#pragma once
// SharedMemoryMapping: a sender's shared-memory frame buffer (/dev/shm/<handle_name>), opened read-only and
// mapped once for the life of a gRPC stream; frames are read in place through slice(), never copied.
// The mapping is guarded against the sender shrinking the file under it (see sigbus_guard.h).

#include "sigbus_guard.h"

#include "runtime/unique_fd.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace ava::frames {

// Why a mapping could not be set up; each kind has its own gRPC status and its own advice to the operator.
class SharedMemoryError : public std::runtime_error {
public:
    enum class Kind {
        bad_request,       // bad handle name or length, or the file is too short / not a regular file
        not_found,         // no such file: the containers do not share an IPC namespace
        permission_denied, // the file exists but we may not read it
        system,            // anything else the kernel refused
        exhausted,         // too many buffers mapped at once
    };
    SharedMemoryError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    Kind kind() const noexcept { return kind_; }

private:
    Kind kind_;
};

class SharedMemoryMapping {
public:
    // Maps the first `length_bytes` of <folder>/<handle_name> read-only. The handle name must be a plain
    // file name (no '/', no ".."); the file must be a regular file at least `length_bytes` long.
    // Throws SharedMemoryError.
    static SharedMemoryMapping open(std::string_view handle_name, std::uint64_t length_bytes,
                                    const std::filesystem::path& folder = "/dev/shm");

    SharedMemoryMapping(SharedMemoryMapping&& other) noexcept;
    SharedMemoryMapping& operator=(SharedMemoryMapping&& other) noexcept;
    SharedMemoryMapping(const SharedMemoryMapping&) = delete;
    SharedMemoryMapping& operator=(const SharedMemoryMapping&) = delete;
    ~SharedMemoryMapping();

    // The bytes at [offset, offset + length) of the mapping, checked against the mapped length without
    // overflow. Throws FrameError when the range is empty or falls outside the mapping. If the sender shrinks
    // the file, reads past its new end see zeros and broken() turns true.
    std::span<const std::uint8_t> slice(std::uint64_t offset, std::uint64_t length) const;

    std::uint64_t size() const noexcept { return size_; }
    const std::string& handle_name() const noexcept { return handle_name_; }
    // True once the sender shrank the file under the mapping: frames read since may be zeros, not its data.
    bool broken() const noexcept { return guard_.broken() || broken_elsewhere_.load(std::memory_order_relaxed); }
    // An analyzer worker process reading the same file saw it shrink (isolation/): broken() turns true.
    void note_broken() const noexcept { broken_elsewhere_.store(true, std::memory_order_relaxed); }
    // The open file, kept so an analyzer worker process can map the same pages (isolation/).
    int fd() const noexcept { return fd_.get(); }
    const void* address() const noexcept { return address_; }

private:
    SharedMemoryMapping(std::string handle_name, const void* address, std::uint64_t size, GuardedRange guard,
                        runtime::UniqueFd fd) noexcept
        : handle_name_(std::move(handle_name)), address_(address), size_(size), guard_(std::move(guard)),
          fd_(std::move(fd))
    {
    }
    void unmap() noexcept;

    std::string handle_name_;
    const void* address_ = nullptr;
    std::uint64_t size_ = 0;
    GuardedRange guard_; // unregistered before the memory is unmapped
    runtime::UniqueFd fd_;
    mutable std::atomic<bool> broken_elsewhere_{false};
};

} // namespace ava::frames
