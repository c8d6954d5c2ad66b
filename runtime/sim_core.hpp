// SPDX-License-Identifier: Apache-2.0
// The engine behind spindle::testing::Simulation: a one-worker scheduler driven by the
// calling thread, a virtual clock, and one seeded generator for every choice.
//
// How it hooks into the ordinary runtime: the Scheduler is built without threads and its
// only Worker carries a pointer to this object. Every place that would queue a runnable fiber
// (spawn, wake-up, yield) hands it to make_ready() instead, and the worker's find_work() asks
// next() what to run. next() fires due timers, and when nothing is runnable it moves the
// virtual clock to the earliest timer, so a task that sleeps an hour costs one step.
//
// Determinism: a run is a pure function of the seed and the body, because (1) only the
// driving thread touches the simulated tasks (a wake-up from any other thread is a fatal
// error, see enqueue_from_outside()), (2) the pick among runnable tasks, select's choice among
// ready cases and PCT's priorities all come from rng_, and (3) Clock::now() on that thread
// reads now_ns_, which changes only in next().
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "spindle/abi.hpp"
#include "spindle/simulation.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Fiber;
class Scheduler;
class TaskCore;
class Worker;

/// The simulation the calling thread drives (set by SimScope); read by Clock::now().
extern thread_local constinit SimCore* t_current_sim;

/// Ends the process: a wake-up crossed a simulation's boundary (into it when
/// `into_simulation`, out of it otherwise), so the run could not replay.
[[noreturn]] void die_at_simulation_boundary(bool into_simulation) noexcept;

class SimCore {
 public:
  explicit SimCore(const testing::SimOptions& options);
  SimCore(const SimCore&) = delete;
  SimCore& operator=(const SimCore&) = delete;
  ~SimCore();

  /// The simulation the calling thread is driving right now, or nullptr.
  static SimCore* current() noexcept;

  Scheduler& scheduler() noexcept { return *sched_; }
  const testing::SimOptions& options() const noexcept { return options_; }

  /// Runs `root` as a task and drives the simulation until it finishes, then lets the other
  /// runnable tasks run until they finish or block (no more virtual time passes).
  /// @throws Deadlock when every task is blocked and no timer is pending before the root ends.
  void run(const std::function<void()>& root, const spindle::source_location& site);

  std::int64_t now_ns() const noexcept { return now_ns_; }
  std::int64_t start_ns() const noexcept { return start_ns_; }

  /// A number in [0, bound) from the seeded generator (bound > 0).
  std::uint64_t random(std::uint64_t bound) noexcept;

  // Hooks for the worker and the scheduler.
  void make_ready(Fiber* item);
  void enqueue_from_outside(Fiber* item);
  Fiber* next();
  void on_park(Fiber* f);
  void on_yield(Fiber* f);
  void on_exit(Fiber* f);

  const std::vector<testing::SimEvent>& trace() const noexcept { return trace_; }
  std::string trace_text() const;
  std::uint64_t steps() const noexcept { return steps_; }

 private:
  struct TaskState {
    std::uint32_t ordinal = 0;
    std::int64_t priority = 0;
  };

  static TaskCore* core_of(Fiber* item) noexcept;
  TaskState& state_of(TaskCore* core);
  std::size_t pick_index();
  void record(testing::SimEvent::Kind kind, TaskCore* core, std::string detail = {});
  void drive(const std::function<bool()>& stop, bool advance_time);
  bool advance_clock();
  void teardown() noexcept;
  std::string where() const;

  testing::SimOptions options_;
  std::uint64_t rng_state_;
  std::int64_t now_ns_;
  std::int64_t start_ns_;
  std::uint64_t steps_ = 0;
  std::uint32_t next_ordinal_ = 1;
  TaskCore* last_picked_ = nullptr;
  std::vector<std::uint64_t> change_points_;  // PCT: steps at which the running task sinks
  std::size_t changes_done_ = 0;
  std::vector<Fiber*> ready_;
  std::unordered_map<TaskCore*, TaskState> tasks_;
  std::vector<testing::SimEvent> trace_;
  std::unique_ptr<Scheduler> sched_;
  Worker* worker_ = nullptr;
  bool running_ = false;
  bool may_advance_ = false;
};

/// Scope in which the calling thread drives `sim` (Clock::now() reads its virtual time).
class SimScope {
 public:
  explicit SimScope(SimCore& sim) noexcept;
  ~SimScope();
  SimScope(const SimScope&) = delete;
  SimScope& operator=(const SimScope&) = delete;

 private:
  SimCore* prev_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
