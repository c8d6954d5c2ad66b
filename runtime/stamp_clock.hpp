// SPDX-License-Identifier: Apache-2.0
// Time stamps for diagnostics taken on hot paths (every park, every spawn), so that a task
// dump can say "blocked for 3.2 s". A stamp is one read of the CPU's constant-rate counter,
// a fraction of the cost of the coarse monotonic clock (two calls into the vDSO), which
// would be a noticeable share of a one-way channel hand-off. Stamps are turned into
// nanoseconds only when someone reads them (StampReading), which is rare.
#pragma once

#include <cstdint>

#if !defined(__x86_64__) && !defined(__aarch64__)
#include <time.h>
#endif

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// The stamp clock now, in ticks: x86-64's time-stamp counter (invariant on every CPU of
/// the last decade, and kept so by hypervisors), AArch64's virtual counter, else the coarse
/// monotonic clock in nanoseconds. Only differences mean anything (StampReading::ns_since).
[[gnu::always_inline]] inline std::uint64_t stamp_now() noexcept {
#if defined(__x86_64__)
  return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
  std::uint64_t ticks;
  asm volatile("mrs %0, cntvct_el0" : "=r"(ticks));
  return ticks;
#else
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
#endif
}

/// The stamp clock read now, with the scale that turns tick differences into nanoseconds.
struct StampReading {
  std::uint64_t now = 0;
  double ns_per_tick = 1.0;

  /// Nanoseconds from `stamp` to this reading; 0 for a stamp not before it (a stamp taken
  /// on another core may read a few ticks later).
  std::int64_t ns_since(std::uint64_t stamp) const noexcept {
    if (stamp >= now) return 0;
    return static_cast<std::int64_t>(static_cast<double>(now - stamp) * ns_per_tick);
  }
};

/// Reads the stamp clock and its scale. On x86-64 the scale is measured against
/// CLOCK_MONOTONIC since the library was loaded; the first reading within 2 ms of that
/// waits out the rest of those 2 ms, so that the scale is good to 0.2% at worst (and to a
/// few parts in 10^5 once the process has run for a second).
StampReading read_stamp_clock();

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
