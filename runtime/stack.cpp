// SPDX-License-Identifier: Apache-2.0
#include "runtime/stack.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <system_error>

#include "runtime/test_hooks.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

#ifndef MADV_GUARD_INSTALL
constexpr int MADV_GUARD_INSTALL = 102;  // Linux 6.13 uapi value; older headers lack it
#endif

// Mappings left for everyone else in the process (heap arenas, libraries, thread stacks).
constexpr long kMappingReserve = 8192;

std::atomic<int> g_madv_guard_works{-1};  // -1 unknown, 0 no, 1 yes
std::atomic<long> g_mprotect_stacks{0};
#if SPINDLE_TEST_HOOKS
// relaxed everywhere: a test-only switch read when a stack is mapped.
std::atomic<GuardMode> g_forced_mode{GuardMode::madvise_guard};
// Test hook: stacks map_stack() may still map before it fails; -1 (normally): no limit.
std::atomic<long> g_maps_left{-1};
#endif

long mprotect_budget() {
  static const long budget = [] {
    long max_maps = 65530;
    std::ifstream in("/proc/sys/vm/max_map_count");
    in >> max_maps;
    // Each mprotect-guarded stack splits into two VMAs.
    long b = (max_maps - kMappingReserve) / 2;
    return b > 0 ? b : 0;
  }();
  return budget;
}

bool try_madv_guard(void* page, std::size_t len) {
  // relaxed: a cached probe result; a racing first probe merely repeats the syscall.
  int works = g_madv_guard_works.load(std::memory_order_relaxed);
  if (works == 0) return false;
  if (madvise(page, len, MADV_GUARD_INSTALL) == 0) {
    g_madv_guard_works.store(1, std::memory_order_relaxed);  // relaxed: see above
    return true;
  }
  if (errno == EINVAL) g_madv_guard_works.store(0, std::memory_order_relaxed);  // see above
  return false;
}

bool try_mprotect_guard(void* page, std::size_t len) {
  // relaxed: a budget counter with no data attached; overshooting by a few is harmless.
  if (g_mprotect_stacks.fetch_add(1, std::memory_order_relaxed) >= mprotect_budget()) {
    g_mprotect_stacks.fetch_sub(1, std::memory_order_relaxed);  // relaxed: see above
    return false;
  }
  if (mprotect(page, len, PROT_NONE) == 0) return true;
  g_mprotect_stacks.fetch_sub(1, std::memory_order_relaxed);  // relaxed: see above
  return false;
}

}  // namespace

std::size_t page_size() noexcept {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

StackMemory map_stack(std::size_t usable, std::size_t record, bool want_guard) {
#if SPINDLE_TEST_HOOKS
  // relaxed: a test's countdown; the test arms it before the spawns it affects.
  if (g_maps_left.load(std::memory_order_relaxed) >= 0 &&
      g_maps_left.fetch_sub(1, std::memory_order_relaxed) <= 0) {
    throw std::system_error(ENOMEM, std::generic_category(),
                            "spindle: mmap of a task stack failed (test: out of stacks)");
  }
#endif
  const std::size_t page = page_size();
  const std::size_t top = (record + page - 1) / page * page;
  // The guard region: kGuardBytes, whole pages. A guard installed with MADV_GUARD_INSTALL or
  // mprotect costs no memory and one VMA at most whatever its size, so it is as large as a
  // frame that code compiled without stack-clash protection may skip in one step.
  const std::size_t guard = std::max(page, (kGuardBytes + page - 1) / page * page);
  StackMemory s;
  s.mapped = guard + usable + top;
  void* p = mmap(nullptr, s.mapped, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(), "spindle: mmap of a task stack failed");
  }
  s.base = p;
  auto* bytes = static_cast<char*>(p);
  s.low = bytes + guard;
  // The record sits at the very top; the usable stack ends right below it, so the first
  // frames share the record's page.
  s.high = bytes + s.mapped - record;
#if SPINDLE_TEST_HOOKS
  const GuardMode forced = g_forced_mode.load(std::memory_order_relaxed);
#else
  constexpr GuardMode forced = GuardMode::madvise_guard;
#endif
  if (!want_guard) {
    s.mode = GuardMode::none;
  } else if (forced == GuardMode::madvise_guard && try_madv_guard(bytes, guard)) {
    s.mode = GuardMode::madvise_guard;
  } else if (forced != GuardMode::canary && try_mprotect_guard(bytes, guard)) {
    s.mode = GuardMode::mprotect;
  } else {
    s.mode = GuardMode::canary;
  }
  if (s.mode == GuardMode::canary || s.mode == GuardMode::none) {
    // Without a guard the page below is ordinary stack: use it, and keep the canary word at
    // the bottom so an overflow is still caught at the next switch.
    s.low = bytes;
    if (s.mode == GuardMode::canary) *static_cast<std::uint64_t*>(s.low) = kStackCanary;
  }
  return s;
}

void unmap_stack(const StackMemory& s) noexcept {
  if (s.base == nullptr) return;
  munmap(s.base, s.mapped);
  // relaxed: budget counter, see try_mprotect_guard.
  if (s.mode == GuardMode::mprotect) g_mprotect_stacks.fetch_sub(1, std::memory_order_relaxed);
}

#if SPINDLE_TEST_HOOKS
void fail_stack_maps_for_testing(long maps_left) noexcept {
  g_maps_left.store(maps_left, std::memory_order_relaxed);  // relaxed: see map_stack()
}

void force_guard_mode_for_testing(GuardMode mode) noexcept {
  g_forced_mode.store(mode, std::memory_order_relaxed);  // relaxed: see g_forced_mode
}
#endif

std::size_t mprotect_guarded_stacks() noexcept {
  // relaxed: a statistic.
  return static_cast<std::size_t>(g_mprotect_stacks.load(std::memory_order_relaxed));
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
