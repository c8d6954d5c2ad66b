// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Runtime: the M:N scheduler that runs tasks on a pool of worker threads.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>

#include "spindle/abi.hpp"
#include "spindle/leaks.hpp"
#include "spindle/options.hpp"
#include "spindle/source_location.hpp"
#include "spindle/task.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// How task stacks are protected against overflow (see Options::guard_pages).
enum class GuardMode {
  madvise_guard,  ///< MADV_GUARD_INSTALL guard pages (Linux 6.13+): no extra kernel mapping.
  mprotect,       ///< A PROT_NONE page below each stack: one extra mapping per stack.
  canary,         ///< No guard page; a canary word checked at every switch catches overflows.
  none,           ///< Options::guard_pages was false: neither guard nor canary.
};

/// Printable name of a GuardMode ("madvise_guard", "mprotect", "canary", "none").
const char* to_string(GuardMode mode) noexcept;

/// An M:N runtime: `workers` OS threads running any number of tasks, each with its own
/// stack, scheduled by work stealing.
///
/// @code
/// spindle::Runtime rt;                       // one worker per hardware thread
/// int v = rt.block_on([] {
///   auto t = spindle::spawn([] { return 41; });
///   return t.join() + 1;
/// });
/// @endcode
///
/// Destroying the runtime lets runnable tasks finish or block (a bounded wait), applies the
/// leak policy to what is left, then unwinds every remaining task by throwing an internal
/// exception from its blocking point, so the destructors on its stack run. Code in tasks
/// that catches everything (`catch (...)`) must rethrow what it does not recognise.
class Runtime {
 public:
  /// Starts the workers.
  /// @throws std::invalid_argument for options that cannot work (stack_size too small,
  /// `$SPINDLE_WORKERS` not a positive number) — the message names the option.
  /// @throws std::runtime_error for a `$SPINDLE_IO` that cannot work (`io_uring` where the
  /// kernel refuses it, or a value other than `epoll` and `io_uring`), naming the reason.
  explicit Runtime(Options options = {});
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  ~Runtime();

  /// Runs `fn` as a task and blocks the calling thread until it returns; returns its result
  /// or rethrows its exception. May be called any number of times, from any thread.
  /// @throws Deadlock when, while it waits, every task of the runtime stays blocked for
  /// Options::deadlock_after with no timer pending and no outside thread in a spindle call.
  template <class F>
  detail::SpawnResult<F> block_on(
      F&& fn, spindle::source_location site = spindle::source_location::current()) {
    return spawn(std::forward<F>(fn), site).join_watching(sched_.get());
  }

  /// Starts `fn` as a task on this runtime, from any thread (or a task of any runtime).
  template <class F>
  Task<detail::SpawnResult<F>> spawn(
      F&& fn, spindle::source_location site = spindle::source_location::current()) {
    return detail::spawn_on(sched_.get(), std::forward<F>(fn), site);
  }
  /// spawn() that names the task for diagnostics (see TaskName).
  template <class F>
  Task<detail::SpawnResult<F>> spawn(
      TaskName name, F&& fn, spindle::source_location site = spindle::source_location::current()) {
    return detail::spawn_on(sched_.get(), std::forward<F>(fn), site, &name);
  }

  /// Every live task of this runtime, in spawn order: id, spawn site, state.
  std::vector<TaskInfo> tasks() const;
  /// Tasks alive (other than the caller) plus finished ones whose handle was dropped
  /// unjoined. Waits up to Options::leak_check_wait for tasks still winding down.
  LeakReport leaks() const;
  /// Throws LeakError (what() lists the tasks) when leaks() is not empty.
  void verify_no_leaks() const;
  /// leaks(), less what `options` leaves out (a baseline, ignore rules); waits up to
  /// options.wait (default Options::leak_check_wait) for the rest to wind down.
  /// @throws std::invalid_argument for options that cannot work (LeakOptions::validate).
  LeakReport leaks(const LeakOptions& options) const;
  /// Throws LeakError when leaks(options) is not empty.
  void verify_no_leaks(const LeakOptions& options) const;

  /// Sets of tasks proven blocked for good while the rest of the runtime may still run:
  ///  - a task blocked on a nil channel or in a select whose every case is nil (nothing can
  ///    ever wake it);
  ///  - a cycle of tasks each blocked in join() on the next (each waits for the next to end);
  ///  - a task blocked in join() on a task of a set above, transitively.
  /// A task is included only if it was seen parked in the same wait in two scans, so every
  /// task of a set was parked at one instant between them. No false positives: channel,
  /// mutex, wait group and select waits on live channels are never reported here, because a
  /// handle (or a reference to one) held anywhere in the process could still wake them; those
  /// show up in the whole-runtime Deadlock of block_on instead. Empty when tracking is
  /// compiled out.
  std::vector<PartialDeadlock> partial_deadlocks() const;

  /// Writes every task of this runtime — id, name, state and time in it, what it waits on,
  /// age, parent, spawn site — then the finished never-joined ones and any partial
  /// deadlocks, like Go's SIGQUIT goroutine dump. With `SPINDLE_DUMP_ON_SIGQUIT=1` in the
  /// environment when the first runtime is created, SIGQUIT dumps every runtime to stderr and ends
  /// the process with status 2, as Go does.
  void dump(std::ostream& out) const;

  /// Number of worker threads.
  std::size_t workers() const noexcept;
  /// Usable stack bytes per task (Options::stack_size rounded up to pages).
  std::size_t stack_size() const noexcept;
  /// How stacks are guarded right now; may degrade from mprotect to canary as mappings run out.
  GuardMode guard_mode() const noexcept;
  /// A one-line summary of the runtime's configuration and counters, for logs, with the I/O
  /// backend and why it was chosen (`io=epoll (default; io_uring usable ...)`).
  std::string diagnostics() const;

  /// @cond INTERNAL
  detail::Scheduler& scheduler() noexcept { return *sched_; }
  /// @endcond

 private:
  std::unique_ptr<detail::Scheduler> sched_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
