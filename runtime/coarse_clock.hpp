// SPDX-License-Identifier: Apache-2.0
// The time a park records, "parked since", without reading the CPU's counter on every park.
//
// Reading the counter (rdtsc) is microcoded, and a channel round trip parks twice, so two
// reads are a visible share of a ping-pong on one worker. A task dump wants "blocked for
// 3.2 s", not nanoseconds, so a park stores this clock instead: a stamp_now() reading that
// a ticker thread refreshes every millisecond while any worker is awake. A park is then one
// load of a line written once a millisecond. The ticker sleeps a short while after the last
// worker went to sleep, so an idle process pays nothing; the worker that wakes first
// refreshes the stamp itself before it runs anything, so a park never records a time from
// before the wake.
//
// Accuracy: a recorded park time is at most about a tick (plus the ticker's scheduling
// delay on a loaded machine) earlier than the park, never later.
#pragma once

#include <atomic>
#include <cstdint>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// The last refreshed stamp_now() reading; 0 before any worker has run.
extern std::atomic<std::uint64_t> g_coarse_stamp;
/// The steady clock (spindle::Clock outside a simulation) in nanoseconds, refreshed with
/// g_coarse_stamp.
extern std::atomic<std::int64_t> g_coarse_ns;

/// stamp_now() as of at most about a millisecond ago, on a thread whose worker is awake
/// (CoarseClockHold).
[[gnu::always_inline]] inline std::uint64_t coarse_stamp() noexcept {
  // relaxed: a diagnostic time; nothing is published through it.
  return g_coarse_stamp.load(std::memory_order_relaxed);
}

/// spindle::Clock's real time in nanoseconds as of at most about a millisecond ago, on a
/// thread whose worker is awake: what a switch compares the earliest timer with.
[[gnu::always_inline]] inline std::int64_t coarse_now_ns() noexcept {
  // relaxed: a time to compare with; nothing is published through it.
  return g_coarse_ns.load(std::memory_order_relaxed);
}

/// Refreshes the coarse clock from the caller's thread (the monitor does, on each look).
void coarse_clock_refresh() noexcept;

/// Held by a worker thread while it is awake (running tasks or looking for them): the
/// ticker keeps coarse_stamp() fresh while any hold exists.
class CoarseClockHold {
 public:
  CoarseClockHold() noexcept { acquire(); }
  ~CoarseClockHold() { release(); }
  CoarseClockHold(const CoarseClockHold&) = delete;
  CoarseClockHold& operator=(const CoarseClockHold&) = delete;

  /// Around a sleep: release() before it, acquire() after (balanced).
  static void acquire() noexcept;
  static void release() noexcept;
};

/// Starts the ticker thread if it is not running yet (every Scheduler does, first).
/// @throws std::system_error if the thread cannot be created.
void start_coarse_ticker();

/// True while the ticker thread sleeps (no hold for longer than its linger): for tests.
bool coarse_ticker_asleep() noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
