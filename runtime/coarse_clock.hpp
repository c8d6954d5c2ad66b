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
// The ticker is a thread like any other, and on a loaded machine it may not run for tens of
// milliseconds. The workers therefore check the clock themselves, every so many parks
// (ParkClockCheck): a check reads the real clock and refreshes the coarse one
// when it is more than kParkCheckLag old. The number of parks between checks adapts to
// the park rate so that checks come about every kParkCheckSpacing of parking: a worker
// whose parks are far apart checks at every park; in a ping-pong, one park in a few hundred
// does, which costs nothing measurable.
//
// Accuracy: a recorded park time is never later than the park. It is earlier by at most
// kParkCheckLag, or by the time since the parking worker's last check when that is more
// (about kParkCheckSpacing at a steady park rate); a worker that wakes from sleep refreshes
// the clock before it runs anything.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "runtime/test_hooks.hpp"
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

/// How old the coarse clock may be when a park's check finds it before it is refreshed.
inline constexpr std::chrono::nanoseconds kParkCheckLag = std::chrono::milliseconds(1);
/// The parking time a thread aims to leave between two of its checks.
inline constexpr std::chrono::nanoseconds kParkCheckSpacing = std::chrono::microseconds(100);
/// The most parks between two checks.
inline constexpr std::uint32_t kParkCheckMaxEvery = 256;

/// The clock check of one worker's parks (a member of the worker: only the thread that
/// holds the worker's role uses it). stamp() is what a park records.
class ParkClockCheck {
 public:
  /// coarse_stamp(), checked against the real clock first when the count of parks since the
  /// last check runs out: two instructions on every other park.
  [[gnu::always_inline]] std::uint64_t stamp() noexcept {
    if (--countdown_ == 0) [[unlikely]]
      check();
    return coarse_stamp();
  }

 private:
  // Refreshes the coarse clock if it is older than kParkCheckLag, and sets the number of
  // parks until the next check from how long the last ones took.
  void check() noexcept;

  std::uint32_t countdown_ = 1;  // parks left before the next check
  std::uint32_t every_ = 1;      // parks between the last two checks
  std::int64_t last_check_ns_ = 0;
};

#if SPINDLE_TEST_HOOKS
/// Test hook: called by the ticker thread and the monitor before each of their refreshes
/// (a hook that blocks stands for a ticker and a monitor starved of CPU).
extern std::atomic<void (*)()> g_background_refresh_hook;
#endif

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
