// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::testing::Simulation: run tasks on one worker driven by the calling thread, in
/// virtual time, with every scheduling choice drawn from a seed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "spindle/abi.hpp"
#include "spindle/clock.hpp"
#include "spindle/leaks.hpp"
#include "spindle/options.hpp"
#include "spindle/source_location.hpp"
#include "spindle/task.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
class SimCore;
}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail

/// @namespace spindle::testing
/// Test support: deterministic Simulation in virtual time, explore() over many seeded
/// schedules, and the GoogleTest LeakCheck listener (<spindle/testing.hpp>).
namespace spindle::inline SPINDLE_ABI_NAMESPACE::testing {

/// How a Simulation picks the next task among the runnable ones.
enum class Schedule {
  random,  ///< Uniformly at random from the seed: every interleaving has a chance.
  pct,     ///< Probabilistic concurrency testing: random priorities, the highest runs,
           ///< and at `pct_depth - 1` random steps the running task drops to the bottom.
           ///< Finds bugs that need a few specific preemptions with a known probability.
  fifo,    ///< Always the longest-waiting runnable task (seed-independent).
  lifo,    ///< Always the most recently readied task (seed-independent).
};

/// Printable name of a Schedule ("random", "pct", "fifo", "lifo").
const char* to_string(Schedule schedule) noexcept;

/// Configuration of a Simulation. An aggregate: `SimOptions{.seed = 42}`.
struct SimOptions {
  /// Seeds every choice: the same seed and body give the same run, event for event.
  std::uint64_t seed = 1;
  /// The scheduling strategy.
  Schedule schedule = Schedule::random;
  /// PCT only: the number of priority levels (bug depth) it targets; at least 1.
  unsigned pct_depth = 3;
  /// PCT only: the expected number of scheduling steps of a run; change points are drawn
  /// uniformly below it. At least 1.
  std::uint64_t pct_steps = 1000;
  /// Record a trace of the run (which task ran, what it waited on, virtual time).
  bool trace = false;
  /// Events the trace keeps at least (the most recent ones; older ones are dropped first).
  /// 0 keeps everything.
  std::size_t trace_limit = 100000;
  /// Scheduling steps after which run() gives up with std::runtime_error (a livelock, or a
  /// timer that keeps firing while the tasks never finish). 0 means no limit.
  std::uint64_t max_steps = 50'000'000;
  /// Usable stack bytes per task (as Options::stack_size).
  std::size_t stack_size = 256 * 1024;
  /// What destroying the Simulation does with tasks still alive (as Options::on_leak).
  LeakPolicy on_leak = LeakPolicy::report;
};

/// One step of a simulated run, as recorded when SimOptions::trace is set.
struct SimEvent {
  /// What happened.
  enum class Kind : std::uint8_t {
    spawn,    ///< A task was created (detail: its spawn site).
    run,      ///< The scheduler picked a task to run.
    park,     ///< A task blocked (detail: what on, as in TaskInfo::state).
    yield,    ///< A task yielded.
    exit,     ///< A task finished.
    advance,  ///< Every task was blocked: the clock jumped to the earliest timer.
  };
  std::chrono::nanoseconds at{0};  ///< Virtual time since the Simulation began.
  Kind kind = Kind::run;           ///< What happened.
  std::uint32_t task = 0;          ///< The task, numbered 1, 2, ... in spawn order within the run.
  std::string detail;              ///< Spawn site, or what a park waits on.

  /// One line, e.g. `+1.500000s task 3 park chan recv`.
  std::string to_string() const;
  /// Field by field: two runs of one seed record equal event lists.
  bool operator==(const SimEvent&) const = default;
};

/// A deterministic world for tests: tasks run on one worker that the calling thread drives
/// (no real threads), `spindle::Clock` reads virtual time that jumps to the next timer when
/// every task is blocked, and every choice — which runnable task runs next, which ready case
/// a select takes — comes from the seed. A failing interleaving replays exactly.
///
/// @code
/// spindle::testing::Simulation sim{spindle::testing::SimOptions{.seed = 42}};
/// int r = sim.run([] {
///   spindle::sleep_for(1h);  // returns at once in wall time
///   return 1;
/// });
/// @endcode
///
/// Inside a simulation only its own tasks may touch its channels and sync objects: a plain
/// thread (or another runtime) that wakes a simulated task, or a simulated task that wakes a
/// plain thread, ends the process with a message saying so, because the run could no longer
/// be replayed. Blocking system calls (real sockets, files) are not simulated.
class Simulation {
 public:
  /// @throws std::invalid_argument for options that cannot work (pct_depth 0, a stack
  /// below the runtime's minimum).
  explicit Simulation(SimOptions options = {});
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;
  /// Applies SimOptions::on_leak to tasks still alive, then unwinds them.
  ~Simulation();

  /// Runs `fn` as the root task and drives the simulation on the calling thread until it
  /// returns; returns its result or rethrows its exception. Afterwards the other tasks run
  /// until they finish or block (virtual time stands still). May be called again; virtual time
  /// carries on.
  /// @throws Deadlock when every task is blocked and no timer is pending before `fn` returns.
  /// @throws std::logic_error when called from inside a task or while already running.
  /// @throws std::runtime_error when SimOptions::max_steps is exceeded.
  template <class F>
  detail::SpawnResult<F> run(F&& fn,
                             spindle::source_location site = spindle::source_location::current()) {
    using R = detail::SpawnResult<F>;
    if constexpr (std::is_void_v<R>) {
      run_erased([&fn] { std::invoke(fn); }, site);
    } else {
      std::optional<R> out;
      run_erased([&fn, &out] { out.emplace(std::invoke(fn)); }, site);
      return std::move(*out);
    }
  }

  /// The virtual time now (it starts at a fixed point, the same for every seed).
  TimePoint now() const noexcept;
  /// Virtual time since the Simulation was created.
  std::chrono::nanoseconds elapsed() const noexcept;
  /// The seed this simulation draws from.
  std::uint64_t seed() const noexcept;
  /// The options it was created with.
  const SimOptions& options() const noexcept;
  /// Scheduling steps taken so far.
  std::uint64_t steps() const noexcept;
  /// The recorded events (empty unless SimOptions::trace).
  const std::vector<SimEvent>& trace() const noexcept;
  /// The trace, one event per line.
  std::string trace_text() const;
  /// The tasks still alive (other than a running root), with their states.
  std::vector<TaskInfo> tasks() const;
  /// Tasks alive plus finished ones never joined, checked at once (no waiting in virtual time).
  LeakReport leaks() const;

 private:
  void run_erased(const std::function<void()>& root, const spindle::source_location& site);
  std::unique_ptr<detail::SimCore> core_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::testing
