// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Clock, the time source of every timer, sleep and deadline.
#pragma once

#include <chrono>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A steady clock meeting the standard Clock requirements. Sleeps, timers, `after`, `Ticker`
/// and context deadlines all read it. Inside a `testing::Simulation` it reads the simulation's
/// virtual time instead of the machine's.
///
/// @code
/// spindle::TimePoint start = spindle::Clock::now();
/// spindle::sleep_until(start + 10ms);
/// @endcode
struct Clock {
  using duration = std::chrono::nanoseconds;                    ///< Nanosecond ticks.
  using rep = duration::rep;                                    ///< Tick count type.
  using period = duration::period;                              ///< Tick period (1 ns).
  using time_point = std::chrono::time_point<Clock, duration>;  ///< A point on this clock.
  static constexpr bool is_steady = true;                       ///< Never goes backwards.
  /// The current time: monotonic wall time, or virtual time inside a simulation.
  static time_point now() noexcept;
};

/// A point in time on spindle::Clock.
using TimePoint = Clock::time_point;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
