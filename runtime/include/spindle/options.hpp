// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Options and spindle::LeakPolicy: how a Runtime is configured.
#pragma once

#include <chrono>
#include <cstddef>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// What `~Runtime()` does with tasks that are still alive when it runs.
enum class LeakPolicy {
  report,  ///< Print each leaked task (id, state, spawn site) on stderr, then unwind it.
  abort,   ///< Print the report, then abort the process (for CI jobs that must fail loudly).
  ignore,  ///< Unwind silently.
};

/// Configuration of a Runtime. An aggregate, so designated initializers work:
/// @code
/// spindle::Runtime rt{spindle::Options{.workers = 4, .stack_size = 128 * 1024}};
/// @endcode
struct Options {
  /// Worker OS threads. 0 means `$SPINDLE_WORKERS` if set (like Go's GOMAXPROCS), else the
  /// number of hardware threads.
  std::size_t workers = 0;
  /// Usable stack bytes per task, rounded up to whole pages. Stacks are reserved, not
  /// committed: a task pays only for the pages it touches. At least 16 KiB.
  std::size_t stack_size = 256 * 1024;
  /// Protect each stack with a guard page so an overflow faults instead of corrupting memory.
  /// When the kernel's mapping budget runs out the runtime falls back to a canary word checked
  /// at every switch; `Runtime::guard_mode()` says which is in force.
  bool guard_pages = true;
  /// What `~Runtime()` does with leaked tasks; `$SPINDLE_ON_LEAK` overrides it.
  LeakPolicy on_leak = LeakPolicy::report;
  /// How long every task must stay blocked, with no timer pending and no outside thread
  /// inside a spindle call, before `block_on` reports a deadlock. Zero turns the check off.
  std::chrono::nanoseconds deadlock_after = std::chrono::seconds(1);
  /// How long a leak check (Runtime::leaks(), verify_no_leaks(), testing::LeakCheck) waits
  /// for tasks that are still winding down before it reports them. A clean runtime returns
  /// at once.
  std::chrono::nanoseconds leak_check_wait = std::chrono::milliseconds(100);
  /// Report a task that holds its worker this long without returning to the scheduler (a
  /// long computation, a blocking system call): one line on stderr per episode, rate-limited,
  /// naming the task (id, name, spawn site), how long it has held the worker, and a backtrace
  /// of where it runs. Zero (the default) turns reports off, unless `$SPINDLE_STALL_REPORT`
  /// gives a number of milliseconds.
  std::chrono::nanoseconds stall_report{0};
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
