// SPDX-License-Identifier: Apache-2.0
// One worker: an OS thread that runs fibers. It owns a work-stealing deque, a one-slot
// "run next" for the task a message just woke (so a receiver runs right after its sender,
// on a warm cache), a private FIFO for tasks that yielded, and a cache of free stacks.
//
// Ownership: everything here is touched only by the worker's own thread, except `deque`
// (steal() from any worker) and `runnext` (thieves may take it on their last pass, so a
// task parked there cannot starve behind a long-running one; spinners only once the owner
// has visibly not moved on, so a message ping-pong stays on one worker).
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/coarse_clock.hpp"
#include "runtime/fiber.hpp"
#include "runtime/machine/machine_context.hpp"
#include "runtime/runnext_slot.hpp"
#include "runtime/sanitizers.hpp"
#include "runtime/work_deque.hpp"
#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class SpinLock;
class Monitor;
class Scheduler;
class SimCore;

/// The first code every fiber runs (its context's entry point).
void fiber_entry(void* fiber);

class Worker {
 public:
  /// `spare`: a thread the monitor starts to stand in for a worker stuck in one task
  /// (runtime/monitor.hpp); spares start dormant.
  Worker(Scheduler& sched, std::size_t index, bool spare = false);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// The worker whose thread is the caller, or nullptr.
  static Worker* current() noexcept;
  /// current() inline, for functions that never switch fibers (a switch may move the caller
  /// to another thread, and the compiler would reuse the thread-local's address).
  static Worker* current_here() noexcept;

  /// Fixes the worker's modes; for every worker and spare, before any thread starts (thieves
  /// read a victim's runnext mode).
  void prepare();
  void start();
  void join();

  // Liveness handshake with the monitor (runtime/monitor.cpp, "Taking a stuck worker's
  // queues"). `activity` is odd while this thread runs scheduler code (switching, looking for
  // work, sleeping) and even while it runs a task's own code; each crossing bumps it.
  // enter_scheduler() waits while the monitor is taking this worker's queued tasks.
  void enter_scheduler() noexcept {
    // relaxed load: only this thread writes it. release store: pairs with the monitor's
    // acquire load; the monitor's process_fence() orders it before the flag load below.
    activity.store(activity.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    order_activity_before_handoff();
    // acquire: pairs with the monitor's release store that lowers the flag after taking the
    // queues, so this thread sees what the monitor left of them.
    if ((handoff.load(std::memory_order_acquire) & kHandoffBit) != 0) [[unlikely]]
      wait_for_handoff();
  }
  // Keeps the compiler from moving the load of `handoff` above the store to `activity` (the
  // hardware's part is the monitor's process_fence()), without a full compiler barrier: the
  // asm claims to read and write both words, and nothing else.
  [[gnu::always_inline]] void order_activity_before_handoff() noexcept {
    asm volatile("" : "+m"(activity), "+m"(handoff));
  }
  void leave_scheduler() noexcept {
    // release: pairs with the monitor's acquire load, which then sees this thread's last
    // writes to its queues (the yield FIFO).
    activity.store(activity.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // Called on a fiber's stack: switch to the next local fiber directly, or to this worker's
  // scheduler context. They return when the fiber is resumed (possibly by another worker:
  // re-read Worker::current() after).
  // park_current() with `release` set unlocks it once the fiber is off its stack (see
  // Waiter::park_releasing()).
  void park_current(Waiter& w, SpinLock* release = nullptr);
  void yield_current();
  [[noreturn]] void exit_current();

  /// Queues `f` to run soon on this worker (caller is this worker's thread). True when the
  /// caller should notify_work(): see the definition.
  [[nodiscard]] bool push_local(Fiber* f);
  /// Queues a woken fiber in the run-next slot; the one it displaces goes to the deque.
  void push_runnext(Fiber* f);
  /// Empties runnext and returns what was there (nullptr if nothing).
  Fiber* take_runnext() noexcept;

  /// Takes work from `victim`: half its deque, or, if `look_at_runnext`, its runnext task.
  /// A lone task is taken only after it waited there a while (see worker.cpp).
  Fiber* steal_from(Worker& victim, bool look_at_runnext);

  /// Completes the action of the fiber that switched away last (park, yield or exit).
  /// Runs right after every switch lands, whichever context it lands in.
  void complete_switch();

  /// Simulation mode: runs fibers on the calling thread until `stop()` or until the
  /// simulation has nothing left to run (see SimCore).
  void run_simulated(const std::function<bool()>& stop);

  Scheduler& scheduler() const noexcept { return sched_; }
  /// This worker's place in Scheduler::all_workers() (the workers, then the spares).
  std::size_t index() const noexcept { return index_; }
  bool is_spare() const noexcept { return is_spare_; }
  /// The fiber this worker runs now, or nullptr in scheduler code.
  Fiber* current_fiber() const noexcept { return current_fiber_; }

  // Requests from the monitor in `handoff` (below): kHandoffBit while it takes this worker's
  // queued tasks (under handoff_mu); kTimersBit when a timer is due, which the worker fires
  // once its current switch has landed (complete_switch()).
  static constexpr std::uint32_t kHandoffBit = 1, kTimersBit = 2;
  // States of a spare (spare_state, below).
  static constexpr std::uint32_t kSpareExited = 0, kSpareDormant = 1, kSpareActive = 2,
                                 kSpareStop = 3;

 private:
  // The scheduler owns its workers' queues and idle state (spawn, the stack pool, the idle
  // set, teardown); the monitor takes a stuck worker's queues under the hand-off handshake;
  // the poller's idle wait reads the wake flag. Nothing else reaches inside.
  friend class Scheduler;
  friend class Monitor;
  friend class Poller;

  Scheduler& sched_;
  const std::size_t index_;
  const bool is_spare_;
  Fiber* current_fiber_ = nullptr;
  // Set when this is the one worker of a testing::Simulation: run queues, the choice of the
  // next fiber and timers all go through it, on the thread that drives the simulation.
  SimCore* sim = nullptr;

  // Stack cache: free fibers ready for reuse, private to this worker.
  Fiber* free_fibers = nullptr;
  std::size_t free_count = 0;

  WorkDeque deque;
  alignas(64) RunnextSlot runnext;
  // Counts pushes into runnext; a spinning thief steals from the slot only when it saw the
  // same count on an earlier pass (the owner has not moved on), see steal_from().
  std::atomic<std::uint32_t> runnext_gen{0};

  // Sleeping: the futex word this worker sleeps on, and whether it is in the scheduler's
  // idle set (guarded by the scheduler's idle lock).
  alignas(64) std::atomic<std::uint32_t> wake_flag{0};
  bool in_idle = false;

  // Tasks spawned on this worker and tasks that finished on it: written only by this
  // worker's thread (no read-modify-write), summed by Scheduler::live_tasks(). One shared
  // counter bounced its cache line between the spawning and the finishing worker, twice per
  // task. On their own line, away from what thieves read.
  alignas(64) std::atomic<std::int64_t> spawned{0};
  std::atomic<std::int64_t> finished{0};
  // Raised while this worker claims a parked fiber with a plain store
  // (Scheduler::claim_parked_exclusive); teardown waits for it to drop.
  std::atomic<std::uint8_t> claiming{0};

  // Liveness (see enter_scheduler()). `activity` is written only by this worker's thread and
  // read by the monitor; `handoff` is raised by the monitor, under `handoff_mu`, while it
  // takes this worker's queued tasks.
  alignas(64) std::atomic<std::uint32_t> activity{1};
  // The monitor's requests (kHandoffBit, kTimersBit above). One load per switch tests both,
  // on this line.
  std::atomic<std::uint32_t> handoff{0};
  std::mutex handoff_mu;
  // Spares only, and the futex word a dormant spare waits on: kSpareExited while it has no
  // thread (at first, and after it lingered dormant for long), kSpareDormant while its thread
  // waits to be needed, kSpareActive while it runs tasks, kSpareStop at teardown.
  std::atomic<std::uint32_t> spare_state{kSpareExited};
  // Raised by the monitor when a spare is no longer needed; the spare drops it as it retires.
  std::atomic<bool> retire{false};

  enum class Action : std::uint8_t { none, park, yield, exit };

  void loop();
  bool spare_wait();
  void hand_back_queues();
  void wait_for_handoff() noexcept;
  void flush_pending() noexcept;
  void run_flagged_timers();
  void run(Fiber* f);
  Fiber* find_local(bool poll_global);
  Fiber* find_work(bool look_at_runnext = true);
  Fiber* find_global();
  void idle();
  void sleep(bool spun);
  void stop_spinning();
  void switch_out(Fiber* f, Action a, bool exits);
  void trace_switch_out(Fiber* f, Action a) noexcept;
  std::uint32_t next_random() noexcept;

  std::thread thread_;
  // The thread's own id, written by the thread itself before its first crossing of
  // `activity` (which publishes it to the monitor; thread_ is assigned only after the
  // thread may have started).
  pthread_t native_thread_{};
  pid_t tid_ = 0;  // the kernel's id of that thread, written with it
  MachineContext sched_ctx_;
  san::FiberState san_;
  // What the fiber that switched away last asked for. Whichever context the switch lands
  // in (the scheduler loop, a resumed fiber, a fresh fiber) completes it first thing.
  Action action_ = Action::none;
  Fiber* action_fiber_ = nullptr;
  Waiter* action_waiter_ = nullptr;
  SpinLock* action_lock_ = nullptr;  // Action::park: released after the switch
  // A solo worker's wake-up from a task's code, moved into runnext when that task switches
  // (push_runnext()). Owner only; the monitor never sees it.
  Fiber* pending_ = nullptr;
  Fiber* yield_head_ = nullptr;
  Fiber* yield_tail_ = nullptr;
  // Whether the yield FIFO holds a task: written by the owner, read by the monitor.
  std::atomic<bool> yield_waiting_{false};
  void push_yield(Fiber* f) noexcept;
  Fiber* pop_yield() noexcept;
  std::uint32_t tick_ = 0;
  std::uint32_t runnext_streak_ = 0;
  ParkClockCheck park_clock_;  // stamps parked_at (park_current())
  bool spinning_ = false;      // counted in the scheduler's spinning_
  bool solo_ = false;          // the runtime's only worker
  std::uint32_t rng_;
  // Per victim, what this thief last saw waiting there (the deque's top index, runnext's
  // push count; kNotSeen: nothing) and since when.
  static constexpr std::uint64_t kNotSeen = ~std::uint64_t{0};
  struct Sighting {
    std::uint64_t key = kNotSeen;
    std::int64_t since_ns = 0;
  };
  struct Sightings {
    Sighting deque;
    Sighting runnext;
  };
  std::vector<Sightings> seen_;
  // True once `key` has been seen unchanged for `patience`; until then sets work_waiting_.
  bool waited_long_enough(Sighting& seen, std::uint64_t key, std::chrono::nanoseconds patience);
  // Set when a look left tasks behind a busy worker for now: not a reason to sleep.
  bool work_waiting_ = false;
  // Spin episodes in a row that saw only tasks left to their owner for now (a lone task, or
  // a short queue of woken ones: steal_from()), at most kMaxLoneShift.
  int lone_streak_ = 0;
};

extern constinit thread_local Worker* tl_worker;
inline Worker* Worker::current_here() noexcept { return tl_worker; }

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
