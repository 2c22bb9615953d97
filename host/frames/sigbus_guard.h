#pragma once
// SigbusGuard: survives a sender that shrinks (ftruncate) a shared-memory file while we read frames from it.
//
// Reading a page of a MAP_SHARED mapping past the end of its (now shorter) file raises SIGBUS, which would
// kill the whole host. As Wayland compositors do for client shm buffers, a process-wide SIGBUS handler looks
// the faulting address up among the registered client mappings; if it lies in one, it maps anonymous zero
// pages over that whole mapping (MAP_FIXED), marks it broken and returns: the read completes, reading zeros,
// and the stream that owns the mapping checks broken() and ends. Any other SIGBUS stays fatal.
//
// The registry is the one piece of process-wide mutable state in the host, because a signal handler is
// process-wide and cannot be handed a context: a fixed array of lock-free slots, so the handler neither
// allocates nor locks.

#include <cstddef>

namespace ava::frames {

// Registers [address, address + size) for as long as it lives; unregisters before the owner unmaps it.
class GuardedRange {
public:
    GuardedRange() = default;
    // Installs the handler on first use. Throws SharedMemoryError when every slot is taken.
    GuardedRange(const void* address, std::size_t size);
    GuardedRange(GuardedRange&& other) noexcept;
    GuardedRange& operator=(GuardedRange&& other) noexcept;
    GuardedRange(const GuardedRange&) = delete;
    GuardedRange& operator=(const GuardedRange&) = delete;
    ~GuardedRange();

    // True once a SIGBUS in the range replaced its pages with zeros: what was read from it is garbage.
    bool broken() const noexcept;
    // Unregisters now; waits for a handler that is still remapping the range, so the caller may unmap.
    void reset() noexcept;

    static constexpr std::size_t capacity = 4096; // mappings guarded at once (one per shared-memory stream)

private:
    static constexpr std::size_t none = capacity;
    std::size_t slot_ = none;
};

} // namespace ava::frames
