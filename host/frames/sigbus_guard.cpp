#include "sigbus_guard.h"

#include "shared_memory_mapping.h"

#include <signal.h>
#include <sys/mman.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace ava::frames {
namespace {

// A slot's life: free -> claimed (being filled) -> active (the handler may use it) -> retiring -> free.
enum SlotState : int { free_slot, claimed, active, retiring };

struct Slot {
    std::atomic<int> state{free_slot};
    std::atomic<std::uintptr_t> begin{0};
    std::atomic<std::uintptr_t> end{0};
    std::atomic<bool> broken{false};
    std::atomic<int> handlers{0}; // handlers looking at this slot right now: reset() waits for them
};

static_assert(std::atomic<int>::is_always_lock_free && std::atomic<std::uintptr_t>::is_always_lock_free &&
                  std::atomic<bool>::is_always_lock_free && std::atomic<std::size_t>::is_always_lock_free,
              "the SIGBUS handler may only use lock-free atomics");

// Process-wide, and only these: a signal handler has no other way to find the mappings (see the header).
constinit std::array<Slot, GuardedRange::capacity> registry{};
constinit std::atomic<std::size_t> slots_in_use{0}; // high-water mark: the handler scans no further
constinit struct sigaction previous_action{};        // written once, before the handler is installed

// Replaces the registered mapping holding `address` with zero pages; false when none holds it.
bool zero_fill(std::uintptr_t address) noexcept
{
    const std::size_t used = slots_in_use.load();
    for (std::size_t i = 0; i < used; ++i) {
        Slot& slot = registry[i];
        bool found = false;
        // seq_cst throughout: either reset() sees our count, or we see its retiring state (never both missed).
        slot.handlers.fetch_add(1);
        if (slot.state.load() == active) {
            const auto begin = slot.begin.load();
            const auto end = slot.end.load();
            if (address >= begin && address < end) {
                // mmap is a plain system call on Linux, safe here in practice (as in every Wayland compositor).
                void* replaced = ::mmap(reinterpret_cast<void*>(begin), end - begin, PROT_READ,
                                        MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (replaced != MAP_FAILED) {
                    slot.broken.store(true);
                    found = true;
                }
            }
        }
        slot.handlers.fetch_sub(1);
        if (found) {
            return true;
        }
    }
    return false;
}

// Not ours: whoever handled SIGBUS before us gets it; without one it is fatal, as it always was.
void forward(int signal, siginfo_t* info, void* context) noexcept
{
    if ((previous_action.sa_flags & SA_SIGINFO) != 0 && previous_action.sa_sigaction != nullptr) {
        previous_action.sa_sigaction(signal, info, context);
        return;
    }
    if ((previous_action.sa_flags & SA_SIGINFO) == 0 && previous_action.sa_handler != SIG_DFL &&
        previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(signal);
        return;
    }
    struct sigaction fatal {};
    fatal.sa_handler = SIG_DFL;
    sigemptyset(&fatal.sa_mask);
    ::sigaction(SIGBUS, &fatal, nullptr);
    ::raise(SIGBUS); // SA_NODEFER: delivered now, with the default action
}

void on_sigbus(int signal, siginfo_t* info, void* context)
{
    const int saved_errno = errno;
    // si_code > 0: raised by the kernel for a memory access (si_addr is meaningful), not sent by kill().
    if (info != nullptr && info->si_code > 0 && zero_fill(reinterpret_cast<std::uintptr_t>(info->si_addr))) {
        errno = saved_errno;
        return; // the faulting read is retried and now reads zeros
    }
    forward(signal, info, context);
}

void install_handler()
{
    static std::once_flag installed;
    std::call_once(installed, [] {
        struct sigaction action {};
        action.sa_sigaction = on_sigbus;
        action.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGBUS, &action, &previous_action);
    });
}

} // namespace

GuardedRange::GuardedRange(const void* address, std::size_t size)
{
    install_handler();
    const auto begin = reinterpret_cast<std::uintptr_t>(address);
    for (std::size_t i = 0; i < capacity; ++i) {
        Slot& slot = registry[i];
        int expected = free_slot;
        if (!slot.state.compare_exchange_strong(expected, claimed)) {
            continue;
        }
        slot.begin.store(begin);
        slot.end.store(begin + size);
        slot.broken.store(false);
        std::size_t used = slots_in_use.load();
        while (used < i + 1 && !slots_in_use.compare_exchange_weak(used, i + 1)) {
        }
        slot.state.store(active);
        slot_ = i;
        return;
    }
    throw SharedMemoryError(SharedMemoryError::Kind::exhausted,
                            "more than " + std::to_string(capacity) + " shared memory buffers are mapped at once");
}

GuardedRange::GuardedRange(GuardedRange&& other) noexcept : slot_(std::exchange(other.slot_, none)) {}

GuardedRange& GuardedRange::operator=(GuardedRange&& other) noexcept
{
    if (this != &other) {
        reset();
        slot_ = std::exchange(other.slot_, none);
    }
    return *this;
}

GuardedRange::~GuardedRange() { reset(); }

bool GuardedRange::broken() const noexcept { return slot_ != none && registry[slot_].broken.load(); }

void GuardedRange::reset() noexcept
{
    if (slot_ == none) {
        return;
    }
    Slot& slot = registry[slot_];
    slot.state.store(retiring);
    // A handler that saw the slot active may still be remapping the range: unmapping under it would let its
    // MAP_FIXED land on whatever is mapped there next.
    while (slot.handlers.load() != 0) {
        std::this_thread::yield();
    }
    slot.state.store(free_slot);
    slot_ = none;
}

} // namespace ava::frames
