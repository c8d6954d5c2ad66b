// SPDX-License-Identifier: Apache-2.0
// A Fiber is one task's execution vehicle: its stack, its saved registers, and the
// bookkeeping the scheduler needs while the task is suspended. The Fiber record itself lives
// at the top of its own stack mapping, so a blocked task's record and first frames share a
// page. Fibers are recycled through the scheduler's stack pools: the record outlives any one
// task, which is what lets a stale wake-up be detected instead of touching freed memory.
//
// run_state protocol (the only field several threads race on):
//   kIdle      in a pool, no task
//   kRunnable  queued or about to be resumed
//   kRunning   a worker is executing it
//   kParked    switched out inside Waiter::park(); exactly one party may move it on:
//              the unparker (kParked -> kRunnable) or the runtime's teardown
//              (kParked -> kRunnable; the fiber then finds its waiter not notified and
//              unwinds); both use CAS, so only one wins. The one exception: a fiber whose
//              waiter has a single unparker (every channel wait) is claimed by it with a
//              plain store while teardown has not begun, and teardown waits out such
//              claims before its own (Scheduler::claim_parked_exclusive).
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/machine/machine_context.hpp"
#include "runtime/sanitizers.hpp"
#include "runtime/stack.hpp"
#include "spindle/abi.hpp"
#include "spindle/detail/waiter.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Scheduler;
class TaskCore;
class Waiter;
class Worker;

class alignas(64) Fiber {
 public:
  enum RunState : std::uint32_t { kIdle, kRunnable, kRunning, kParked };

  MachineContext ctx;
  san::FiberState san;
  StackMemory stack;
  Scheduler* sched = nullptr;
  TaskCore* task = nullptr;
  Fiber* next = nullptr;  // intrusive link: pool free lists and the yield queue
  // The worker running the fiber, set by whoever switches into it: the fiber's own code
  // finds its worker here after a switch (it may have moved) without a thread-local lookup.
  Worker* worker = nullptr;

  std::atomic<std::uint32_t> run_state{kIdle};

  // Diagnostics, written by the fiber itself; relaxed readers (dumps) tolerate staleness.
  std::atomic<WaitKind> wait_kind{WaitKind::none};
  std::atomic<const void*> wait_object{nullptr};
  std::atomic<std::uint64_t> parked_at{0};  // coarse_stamp() at the last park
  // Bumped on every park: two equal readings around a kParked one mean one unbroken
  // park (runtime/partial_deadlock.cpp relies on it).
  std::atomic<std::uint32_t> park_seq{0};

  /// The lowest usable byte of the stack; holds the canary in canary mode.
  bool canary_intact() const noexcept {
    return stack.mode != GuardMode::canary ||
           *static_cast<const std::uint64_t*>(stack.low) == kStackCanary;
  }
};

// Run queues hold suspended fibers and, tagged in the low bit, tasks that have not started
// yet. A task gets its stack only when a worker first runs it, so a task that runs to the
// end without blocking hands a still-hot stack straight to the next one: spawning a
// hundred thousand short tasks touches a couple of stacks, not a hundred thousand.
inline Fiber* queue_item(TaskCore* unstarted) noexcept {
  return reinterpret_cast<Fiber*>(reinterpret_cast<std::uintptr_t>(unstarted) | 1u);
}
inline bool is_unstarted(const Fiber* item) noexcept {
  return (reinterpret_cast<std::uintptr_t>(item) & 1u) != 0;
}
inline TaskCore* unstarted_task(Fiber* item) noexcept {
  return reinterpret_cast<TaskCore*>(reinterpret_cast<std::uintptr_t>(item) & ~std::uintptr_t{1});
}

/// Bytes reserved on top of each stack for the Fiber record.
inline constexpr std::size_t kFiberRecordBytes = (sizeof(Fiber) + 63) / 64 * 64;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
