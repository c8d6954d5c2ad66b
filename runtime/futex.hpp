// SPDX-License-Identifier: Apache-2.0
// Thin wrappers over the Linux futex system call: the one primitive every sleep in spindle
// ends in (parked workers, threads blocked in a Waiter, the timer thread).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <ctime>

#include "spindle/abi.hpp"
#include "spindle/clock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
              "futex words must be plain 32-bit integers");

/// Sleeps while *word == expected, until woken, a signal, or the absolute steady-clock
/// deadline (nullptr: none). Spurious returns are allowed; callers re-check their condition.
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       const TimePoint* deadline = nullptr) noexcept {
  timespec ts{};
  timespec* tsp = nullptr;
  if (deadline != nullptr) {
    auto ns = deadline->time_since_epoch().count();
    if (ns < 0) ns = 0;
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    tsp = &ts;
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, the clock spindle::Clock
  // reads, so a wait never drifts when it is restarted.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET_PRIVATE, expected,
          tsp, nullptr, FUTEX_BITSET_MATCH_ANY);
}

/// Wakes up to `count` threads sleeping on `word`.
inline void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr,
          nullptr, 0);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
