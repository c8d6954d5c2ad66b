// The scheduler behind a spindle::Runtime: workers, the global injection queue, idle
// parking, timers, the stack pool and task teardown.
//
// Where a runnable fiber can be: a worker's runnext slot, deque or yield FIFO, or the global
// injection queue (spawns and wake-ups from outside threads). Workers look locally first,
// poll the injection queue every 61 scheduling rounds for fairness, then steal half of a
// random victim's deque.
//
// Parking: at most half the workers spin looking for work; the rest sleep on one eventcount.
// Whoever makes a fiber runnable notifies the eventcount when nobody is spinning, so a
// sleeping worker is woken only when no spinner will pick the work up. One sleeping worker
// at a time is the "watcher": it sleeps only until the earliest timer. Later, an I/O poller
// takes the watcher's place (epoll_wait with the timer's timeout) without other changes.
#pragma once

#include <concurrentqueue.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/eventcount.hpp"
#include "runtime/fiber.hpp"
#include "runtime/timer_heap.hpp"
#include "runtime/worker.hpp"
#include "spindle/options.hpp"
#include "spindle/runtime.hpp"

namespace spindle::detail {

class Scheduler {
 public:
  explicit Scheduler(const Options& options);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler();

  /// Makes a fiber for `core` and queues it. Throws if no stack can be had.
  void spawn(TaskCore* core);

  /// Makes a parked or new fiber runnable from any thread.
  void make_runnable(Fiber* f);

  /// Moves a fiber out of kParked on behalf of an unpark (false: teardown took it first).
  static bool claim_parked(Fiber* f) noexcept;

  // Stacks.
  Fiber* acquire_fiber(Worker* w);
  void release_fiber(Worker* w, Fiber* f) noexcept;

  // Timers of this runtime.
  TimerHeap& timers() noexcept { return timers_; }

  // Idle protocol, used by workers.
  EventCount& idle_event() noexcept { return idle_; }
  void notify_work() noexcept;
  std::atomic<std::uint32_t>& spinning() noexcept { return spinning_; }
  bool try_become_watcher(std::int64_t deadline_ns) noexcept;
  void resign_watcher() noexcept;

  moodycamel::ConcurrentQueue<Fiber*>& injection() noexcept { return injection_; }
  std::vector<std::unique_ptr<Worker>>& workers() noexcept { return workers_; }

  bool shutting_down() const noexcept {
    // acquire: pairs with the release in ~Scheduler; fibers see teardown's earlier writes.
    return shutting_down_.load(std::memory_order_acquire);
  }
  bool stopping() const noexcept {
    // acquire: pairs with the release in ~Scheduler that tells workers to exit.
    return stop_.load(std::memory_order_acquire);
  }

  void task_finished() noexcept;

  std::size_t worker_count() const noexcept { return workers_.size(); }
  std::size_t stack_size() const noexcept { return stack_size_; }
  GuardMode guard_mode() const noexcept;
  std::string diagnostics() const;
  const Options& options() const noexcept { return options_; }

 private:
  Fiber* new_fiber();
  void wait_quiescent();
  void unwind_all();

  Options options_;
  std::size_t stack_size_;
  std::vector<std::unique_ptr<Worker>> workers_;
  moodycamel::ConcurrentQueue<Fiber*> injection_;
  EventCount idle_;
  alignas(64) std::atomic<std::uint32_t> spinning_{0};
  alignas(64) std::atomic<std::int64_t> watch_deadline_{TimerHeap::kNever};
  std::atomic<bool> has_watcher_{false};
  TimerHeap timers_;

  // Stack pool shared by all workers, behind the per-worker caches.
  mutable std::mutex pool_mu_;
  Fiber* pool_free_ = nullptr;
  std::vector<Fiber*> all_fibers_;  // every fiber ever made; teardown walks it
  std::atomic<int> weakest_guard_{0};

  alignas(64) std::atomic<std::int64_t> live_tasks_{0};
  std::atomic<std::uint64_t> next_task_id_{1};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> stop_{false};

  friend class Worker;
};

}  // namespace spindle::detail
