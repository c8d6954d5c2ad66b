// SPDX-License-Identifier: Apache-2.0
// Task stacks: reserved with mmap, committed lazily by the kernel, guarded, pooled.
//
// A stack is one anonymous MAP_NORESERVE mapping: [guard page | usable stack | Fiber record].
// Nothing is committed until touched, so a task that blocks early costs the single page that
// holds its Fiber record and its first frames. The guard below the usable range comes from
// the best mechanism still available (see GuardMode): MADV_GUARD_INSTALL needs no extra VMA;
// mprotect splits the mapping, and the kernel's vm.max_map_count (65530 by default) caps
// those at ~32k stacks per process, so past a budget stacks get a canary word instead.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "runtime/test_hooks.hpp"
#include "spindle/abi.hpp"
#include "spindle/runtime.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

struct StackMemory {
  void* base = nullptr;    // start of the mapping (the guard page, if any)
  std::size_t mapped = 0;  // bytes mapped
  void* low = nullptr;     // lowest usable byte (canary lives here in canary mode)
  void* high = nullptr;    // one past the highest byte: the Fiber record starts here
  GuardMode mode = GuardMode::none;
};

inline constexpr std::uint64_t kStackCanary = 0x5350494e444c4521ull;  // "SPINDLE!"
inline constexpr std::size_t kMinStackSize = 16 * 1024;

std::size_t page_size() noexcept;

/// Maps a stack of `usable` bytes (a page multiple) plus `record` bytes on top for the Fiber,
/// guarded per `want_guard`. Throws std::system_error when mmap fails.
/// The guard region below a guarded stack (rounded up to whole pages).
inline constexpr std::size_t kGuardBytes = 64 * 1024;
StackMemory map_stack(std::size_t usable, std::size_t record, bool want_guard);

/// Returns the mapping to the kernel (and its mprotect budget, if it used one).
void unmap_stack(const StackMemory& s) noexcept;

#if SPINDLE_TEST_HOOKS
/// Test hook: make map_stack() skip the better guard mechanisms and use `mode` (canary or
/// mprotect) for stacks mapped from now on; GuardMode::madvise_guard restores the normal
/// fallback order.
void force_guard_mode_for_testing(GuardMode mode) noexcept;
/// Test hook: map_stack() maps `maps_left` more stacks, then throws std::system_error
/// (ENOMEM) as a failed mmap does; -1 lifts the limit.
void fail_stack_maps_for_testing(long maps_left) noexcept;
#endif

/// The process-wide count of stacks currently relying on mprotect guards, for diagnostics.
std::size_t mprotect_guarded_stacks() noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
