#pragma once
// SharedMemoryRing: the sender's side of AVA shared-memory transfer for one stream. Creates
// /dev/shm/<name> (removed with the object), splits it into equal slots, and hands out a slot only while
// it is free: a slot is taken when its frame is sent and given back only when that frame is acknowledged.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ava::loadgen {

class SharedMemoryRing {
public:
    // Creates the file with `slots` slots of `slot_bytes`, each filled with `frame`. Throws std::system_error.
    SharedMemoryRing(std::string handle_name, std::size_t slots, std::size_t slot_bytes,
                     std::span<const std::uint8_t> frame);
    SharedMemoryRing(const SharedMemoryRing&) = delete;
    SharedMemoryRing& operator=(const SharedMemoryRing&) = delete;
    ~SharedMemoryRing();

    const std::string& handle_name() const noexcept { return name_; }
    std::uint64_t size_bytes() const noexcept { return size_; }

    // A free slot's index, or -1 when every slot holds a frame not yet acknowledged. Not thread-safe: the
    // owning stream serialises its calls.
    int acquire();
    void release(int slot);
    std::uint64_t offset_of(int slot) const noexcept { return static_cast<std::uint64_t>(slot) * slot_bytes_; }
    // Writes the frame into the slot (what a pipeline does for every frame).
    void write(int slot, std::span<const std::uint8_t> frame);

private:
    std::string name_;
    std::size_t slot_bytes_;
    std::uint64_t size_;
    std::uint8_t* base_ = nullptr;
    std::vector<int> free_;
    std::vector<bool> taken_;
};

} // namespace ava::loadgen
