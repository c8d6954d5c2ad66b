// SPDX-License-Identifier: Apache-2.0
// The scheduler behind a spindle::Runtime: workers, the global queues, idle parking, timers,
// the stack pool and task teardown.
//
// Where a runnable fiber can be: a worker's runnext slot, deque or yield FIFO, or one of the
// two global queues: wake-ups from outside threads, and the injection queue (spawns from
// outside threads, tasks handed off by the monitor). Workers look locally first, poll the
// global queues (wake-ups first, a batch at a time) every 61 scheduling rounds for
// fairness, then steal half of a random victim's deque.
//
// Parking (as in Go's proc.go): at most half the workers spin looking for work; the rest
// sleep, each on its own futex word, registered in the idle set. Whoever makes a fiber
// runnable wakes one sleeper only when nobody spins, and the woken worker starts out as a
// spinner, so a burst of spawns wakes one worker, not one per spawn; a spinner that finds
// work while being the last spinner wakes the next one, so parallelism still ramps up.
//
// Why no wake-up is lost: a sleeper registers (nidle_++) and then re-checks every queue;
// a producer publishes its fiber and then reads spinning_ and nidle_. All four steps are
// seq_cst (or fenced), so either the sleeper's re-check sees the fiber or the producer sees
// the sleeper and wakes it. A spinner that gives up drops spinning_ before its own final
// re-check, the same argument again.
//
// Timers: a sleeper whose timeout would be earlier than watch_deadline_ (the earliest
// wake-up any sleeper has planned) sleeps only until the earliest timer; adding a timer
// earlier than that wakes a sleeper, which re-plans.
//
// Liveness (runtime/monitor.hpp): a monitor thread fires timers and polls sockets that busy
// workers leave waiting, moves the queued tasks of a worker stuck in one task to the
// injection queue, and starts spare workers while fewer than `workers` threads are free.
// Spares follow the same idle protocol as workers; the idle counts compare against
// expected_idle() (workers plus active spares).
//
// I/O (runtime/poller.hpp): once a task has used a socket, one sleeper at a time waits in
// epoll_wait instead of its futex, with the same timeout; wake_one() kicks its eventfd
// instead of the futex. Tasks parked on sockets keep the deadlock detector quiet.
#pragma once

#include <concurrentqueue.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/fiber.hpp"
#include "runtime/monitor.hpp"
#include "runtime/poller.hpp"
#include "runtime/task_registry.hpp"
#include "runtime/test_hooks.hpp"
#include "runtime/timer_heap.hpp"
#include "runtime/trace.hpp"
#include "runtime/worker.hpp"
#include "spindle/abi.hpp"
#include "spindle/options.hpp"
#include "spindle/runtime.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Scheduler;
class SimCore;

#if SPINDLE_TEST_HOOKS
/// Test hook: called by Scheduler::claim_parked_exclusive() after it has checked for
/// teardown and before its plain store claims the fiber (the window teardown must wait out).
extern std::atomic<void (*)()> g_exclusive_claim_hook;
#endif

/// Every live scheduler of the process (behind for_each_scheduler; debuggers read `all`).
struct SchedulerList {
  std::mutex mu;
  std::vector<Scheduler*> all;
};

/// Calls fn on every live scheduler of the process, under a lock that keeps them alive.
void for_each_scheduler(const std::function<void(Scheduler&)>& fn);
/// The list itself, made (and published to debuggers) on first use.
SchedulerList& scheduler_list();

class Scheduler {
 public:
  /// With `sim`, the scheduler of a testing::Simulation: one worker and no threads; the
  /// simulation drives the worker from its own thread.
  explicit Scheduler(const Options& options, SimCore* sim = nullptr);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler();

  /// Queues `core` to start on a worker. Throws if no stack can be had.
  void spawn(TaskCore* core);

  /// Binds a stack to a task a worker is about to run for the first time. If none can be
  /// had the task finishes with that error and nullptr is returned.
  Fiber* start_fiber(Worker* w, TaskCore* core) noexcept;

  /// Makes a parked or new fiber runnable from any thread.
  void make_runnable(Fiber* f) { make_runnable(f, Worker::current()); }
  /// The same, for a caller that knows its thread's worker `w` (Worker::current()).
  void make_runnable(Fiber* f, Worker* w) {
    // The common case, a worker of this runtime waking a task (a channel hand-off), stays
    // small enough to inline into Waiter::wake(); the rest is out of line.
    if (w == nullptr || &w->scheduler() != this || trace::on()) [[unlikely]] {
      make_runnable_slow(f, w);
      return;
    }
    make_runnable_here(f, *w);
  }

  /// make_runnable() by `w`, a worker of this runtime on its own thread.
  void make_runnable_here(Fiber* f, Worker& w) {
    w.push_runnext(f);
    if (single_worker_) return;  // the caller is the only worker, and awake
    // A spinner will find f itself: a spinner that stops drops spinning_ (seq_cst) and
    // fences before its last look before sleeping, so if this load still saw it spinning,
    // that look sees f (and a lone task in runnext keeps it awake). The fence pairs with the
    // runnext exchange above (seq_cst, like this load) or, where runnext takes plain stores,
    // is a process fence (Worker::idle()). This skips notify_work()'s fence, a locked
    // instruction, on every wake-up while the other worker spins beside a message-passing
    // pair.
    if (spinning_.load(std::memory_order_seq_cst) != 0) return;
    notify_work(&w);
  }

  /// Moves a fiber out of kParked on behalf of an unpark (false: teardown took it first).
  static bool claim_parked(Fiber* f) noexcept {
    std::uint32_t expected = Fiber::kParked;
    // acq_rel: acquire pairs with the worker's release store of kParked (the saved context
    // is complete); release hands the fiber to whoever dequeues it.
    return f->run_state.compare_exchange_strong(
        expected, Fiber::kRunnable, std::memory_order_acq_rel, std::memory_order_relaxed);
  }

  /// claim_parked() for a fiber that only the caller can wake (its waiter says
  /// kParkedExclusive: the caller won the wait's own claim first). Then the only other
  /// party is teardown, and while it has not begun the claim is a plain store instead of a
  /// CAS (one locked instruction less per wake-up). `w`: the caller's worker, one of this
  /// runtime's.
  bool claim_parked_exclusive(Fiber* f, Worker& w) noexcept {
    if (!fast_claims_) return claim_parked(f);
    // relaxed: kept before the load below on this thread by the signal fence, and made
    // visible to teardown, if the load misses its store, by its process_fence().
    w.claiming.store(1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (shutting_down_.load(std::memory_order_relaxed)) [[unlikely]] {  // relaxed: as above
      w.claiming.store(0, std::memory_order_relaxed);  // relaxed: publishes nothing
      return claim_parked(f);
    }
    SPINDLE_TEST_HOOK(g_exclusive_claim_hook);
    // relaxed: nobody else moves f: its one waker is the caller, and teardown waits for
    // `claiming` to drop before it claims anything. f's saved context was published by its
    // worker's release when it marked the waiter parked (an unlock, or the CAS), which the
    // caller acquired (through that lock, or its load of the waiter's state).
    f->run_state.store(Fiber::kRunnable, std::memory_order_relaxed);
    // release: teardown's acquire load of the flag then sees the claim, and its CAS fails.
    w.claiming.store(0, std::memory_order_release);
    return true;
  }

  // Stacks.
  Fiber* acquire_fiber(Worker* w);
  void release_fiber(Worker* w, Fiber* f) noexcept;

  // Timers of this runtime.
  TimerHeap& timers() noexcept { return timers_; }

  // Tasks of this runtime, for tasks(), leak checks and teardown.
  TaskRegistry& registry() noexcept { return registry_; }
  /// Leaks (less what `filter` leaves out), waiting up to `grace` for them to wind down.
  LeakReport leaks(std::chrono::nanoseconds grace, const LeakOptions* filter = nullptr) const;
  /// Writes the task dump of Runtime::dump().
  void dump(std::ostream& out) const;
  /// True when nothing can make progress by itself: every worker asleep, nothing queued,
  /// no timer pending, no outside thread in a blocking spindle call, and tasks alive.
  bool quiet_now() const noexcept;
  std::uint64_t id() const noexcept { return id_; }
  /// The simulation this scheduler belongs to, or nullptr for an ordinary runtime.
  SimCore* simulation() const noexcept { return sim_; }

  // Idle protocol, used by workers.
  /// New work was queued; wakes a sleeping worker if nobody spins. `from`: the calling
  /// thread's worker when it belongs to this runtime (nullptr otherwise).
  void notify_work(const Worker* from = nullptr) noexcept;
  std::atomic<std::uint32_t>& spinning() noexcept { return spinning_; }
  void push_idle(Worker* w);
  bool remove_idle(Worker* w);
  bool wake_one();
  void wake_all();
  std::atomic<std::int64_t>& watch_deadline() noexcept { return watch_deadline_; }

  /// The netpoller, made on first use (a socket wait in a task); throws if epoll fails.
  Poller& poller();
  /// The netpoller if one was made, else nullptr (the idle path's cheap check).
  Poller* poller_if_any() const noexcept { return poller_.load(std::memory_order_seq_cst); }

  moodycamel::ConcurrentQueue<Fiber*>& injection() noexcept { return injection_; }
  /// Tasks readied by threads outside the runtime (the monitor firing overdue timers or
  /// polling sockets, a plain thread on a channel): workers take these before the injection
  /// queue, whose spawns and hand-offs may be queued by the thousand.
  moodycamel::ConcurrentQueue<Fiber*>& wakeups() noexcept { return wakeups_; }
  /// Both outside queues look empty (a hint, as moodycamel's size_approx()).
  bool outside_queues_empty() const noexcept {
    return injection_.size_approx() == 0 && wakeups_.size_approx() == 0;
  }
  std::vector<std::unique_ptr<Worker>>& workers() noexcept { return workers_; }
  /// The workers, then the spares (each at its index).
  const std::vector<Worker*>& all_workers() const noexcept { return all_; }
  /// How many of all_workers() a thief looks at: the spares only while one is active.
  std::size_t victim_count() const noexcept {
    // relaxed: a hint; a spare that was just started is looked at on the next round.
    return active_spares_.load(std::memory_order_relaxed) != 0 ? all_.size() : workers_.size();
  }
  /// Spares running tasks now (started by the monitor and not retired).
  std::size_t active_spares() const noexcept {
    return active_spares_.load(std::memory_order_seq_cst);
  }
  /// The idle count of a runtime whose every thread sleeps: workers plus active spares.
  std::size_t expected_idle() const noexcept { return workers_.size() + active_spares(); }
  /// Queues a fiber taken from another worker's queues (by the monitor, or a retiring spare)
  /// on the injection queue and wakes a worker for it.
  void requeue(Fiber* f);
  /// The monitor's spare control. start_spare: activates a dormant spare (starting its
  /// thread if it has none); busy: it is not dormant. wake_worker: wakes `w` if it sleeps in
  /// the idle set (it then sees a retire request).
  enum class SpareStart : std::uint8_t { started, busy, failed };
  SpareStart start_spare(Worker& spare) noexcept;
  void wake_worker(Worker& w);
  /// A spare drops out of the active count as it goes dormant.
  void spare_retired() noexcept { active_spares_.fetch_sub(1, std::memory_order_seq_cst); }
  /// A worker woke from sleep: the monitor watches a busy runtime.
  void monitor_wake() noexcept {
    if (monitor_ != nullptr) monitor_->wake();
  }

  bool shutting_down() const noexcept {
    // acquire: pairs with the release in ~Scheduler; fibers see teardown's earlier writes.
    return shutting_down_.load(std::memory_order_acquire);
  }
  bool stopping() const noexcept {
    // acquire: pairs with the release in ~Scheduler that tells workers to exit.
    return stop_.load(std::memory_order_acquire);
  }

  /// A task finished on `w` (the calling thread's worker).
  static void task_finished(Worker& w) noexcept;
  /// Tasks spawned and not finished yet. Never reports zero while a task it counts as
  /// spawned is alive; a task spawned concurrently may be missed, as with any one counter.
  std::int64_t live_tasks() const noexcept;

  std::size_t worker_count() const noexcept { return workers_.size(); }
  std::size_t stack_size() const noexcept { return stack_size_; }
  GuardMode guard_mode() const noexcept;
  std::string diagnostics() const;
  const Options& options() const noexcept { return options_; }

 private:
  void make_runnable_slow(Fiber* f, Worker* w);
  Fiber* new_fiber();
  // Makes sure a stack is free for a task spawned from `w` (nullptr: another thread) to take
  // when it first runs; throws when one is needed and cannot be mapped.
  void reserve_stack(Worker* w);
  void push_pool(Fiber* f) noexcept;
  void wait_quiescent();
  void unwind_all();

  void report_leaks_at_teardown();

  Options options_;
  std::uint64_t id_;
  std::size_t stack_size_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Worker>> spares_;
  std::vector<Worker*> all_;  // workers_, then spares_
  alignas(64) std::atomic<std::size_t> active_spares_{0};
  bool single_worker_ = false;  // workers_.size() == 1, read on every local wake-up
  moodycamel::ConcurrentQueue<Fiber*> injection_;
  moodycamel::ConcurrentQueue<Fiber*> wakeups_;
  std::mutex idle_mu_;
  std::vector<Worker*> idle_;  // sleeping workers, under idle_mu_
  alignas(64) std::atomic<std::uint32_t> nidle_{0};
  alignas(64) std::atomic<std::uint32_t> spinning_{0};
  alignas(64) std::atomic<std::int64_t> watch_deadline_{TimerHeap::kNever};
  TimerHeap timers_;
  TaskRegistry registry_;
  std::mutex poller_mu_;
  std::atomic<Poller*> poller_{nullptr};  // set once under poller_mu_, deleted by ~Scheduler

  // Stack pool shared by all workers, behind the per-worker caches.
  mutable std::mutex pool_mu_;
  Fiber* pool_free_ = nullptr;
  // Stacks on pool_free_, written under pool_mu_; spawn() reads it without the lock.
  std::atomic<std::size_t> pool_count_{0};
  std::vector<Fiber*> all_fibers_;  // every fiber ever made; teardown walks it
  std::atomic<int> weakest_guard_{0};

  // Tasks spawned from threads that are not this runtime's workers (the workers count
  // their own: Worker::spawned / finished).
  alignas(64) std::atomic<std::int64_t> outside_spawned_{0};
  std::atomic<std::uint32_t> outside_wakers_{0};  // outside threads inside make_runnable()
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> stop_{false};
  // claim_parked_exclusive() may use plain stores: teardown can fence every thread.
  const bool fast_claims_;

  SimCore* sim_ = nullptr;
  // Last member but the friends: made after the workers, destroyed (stopped) before them.
  std::unique_ptr<Monitor> monitor_;

  friend class Worker;
  friend class SimCore;
  friend class Monitor;
};

#if SPINDLE_TEST_HOOKS
/// Test hook: called by a thread outside the runtime that wakes a task, after the task is
/// queued and a worker notified, before the thread is done with the scheduler.
extern std::atomic<void (*)()> g_outside_wake_hook;
#endif

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail

/// The process's scheduler list, for debuggers (tools/gdb/spindle.py); nullptr until the first
/// Runtime exists.
extern "C" spindle::detail::SchedulerList* spindle_debug_schedulers;
