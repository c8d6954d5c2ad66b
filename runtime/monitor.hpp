// SPDX-License-Identifier: Apache-2.0
// The monitor: one thread per runtime that keeps it moving when its workers cannot (Go's
// sysmon). Spindle never preempts a task's code, so a worker whose task computes for long, or
// sits in a blocking system call, serves nothing else meanwhile. While the runtime is busy the
// monitor looks at every worker (every millisecond while one may be stuck, up to every 10 ms
// while they all keep switching) and
//  * wakes at each timer's deadline and asks the busy workers to fire it as their next
//    switch lands (Worker::kTimersBit); fires it itself if they all leave it 0.5 ms overdue
//    (every one inside a long task);
//  * polls the netpoller without blocking once a millisecond while sockets have waiters;
//  * spots a worker whose task has held it for kStuckAfter without returning to the
//    scheduler, takes that worker's queued tasks (runnext, deque, yield FIFO) and queues them
//    where other threads find them, and starts a spare thread while fewer than `workers`
//    threads are free to run tasks (Go's handoffp) and a spare would get a CPU to itself
//    (spares_wanted());
//  * prints stall reports (Options::stall_report).
// It sleeps on a futex once every worker has slept for 20 ms, so an idle runtime pays nothing for
// it; the first worker to wake wakes it (Scheduler::monitor_wake). A testing::Simulation has none.
//
// Taking a stuck worker's queues. The deque and a shared runnext slot have thread-safe
// steals. The yield FIFO, and the runnext slot of a runtime's only worker, take plain accesses
// from their owner, which touches them only in scheduler code. Worker::activity is odd while
// the owner runs scheduler code and even while it runs a task's code; the owner bumps it on
// every crossing and, after entering, reads Worker::handoff. The monitor raises `handoff`,
// then calls process_fence(), then reads `activity`: unchanged since it judged the worker
// stuck means the owner was inside the task when the fence ran on its thread, so its next
// entry reads the raised flag and waits on handoff_mu until the monitor is done. Changed means
// the owner moved on: the monitor lowers the flag and takes nothing.
//
// Spares. A spare is a Worker of its own (queues, stack cache, registry shard) whose thread
// the monitor starts when it needs one; free threads = workers + active spares - stuck ones.
// When a stuck thread returns and there are more free threads than `workers`, the monitor
// asks a spare to retire: the spare hands its queued tasks back to the injection queue and
// waits, dormant, to be needed again; after kSpareLinger dormant it ends its thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Scheduler;
class Worker;

/// How many spares to start now. `roles`: Options::workers; `free_threads`: threads free to
/// run tasks (roles + active spares - stuck ones); `stuck_blocked`: stuck threads asleep in
/// the kernel (a blocking system call); `stuck_computing`: stuck threads running or waiting
/// for a CPU (a long computation); `cpus`: the CPUs the process may run on. A role lost to a
/// blocked thread gets a spare, as Go hands a P on when its thread enters a system call. A
/// role lost to a computing thread gets one only while a CPU is left: beside threads that
/// already keep every CPU busy a spare would only take turns with them (Go preempts a long
/// computation instead; spindle cannot). While no thread is free at all there is always one
/// spare, so the runtime keeps moving whatever the machine.
std::size_t spares_wanted(std::size_t roles, std::size_t free_threads, std::size_t stuck_blocked,
                          std::size_t stuck_computing, std::size_t cpus) noexcept;

class Monitor {
 public:
  /// Starts the monitor thread of `sched`. @throws std::system_error if it cannot.
  explicit Monitor(Scheduler& sched);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  /// Stops and joins the monitor thread (idempotent; the destructor does it too).
  void stop();

  /// A worker woke from its sleep: wakes the monitor if it sleeps.
  void wake() noexcept;

  /// Counters for Runtime::diagnostics().
  struct Counters {
    std::atomic<std::uint64_t> looks{0};           // looks at the runtime (wake-ups)
    std::atomic<std::uint64_t> timers_fired{0};    // overdue timer runs by the monitor
    std::atomic<std::uint64_t> polls{0};           // netpoller polls by the monitor
    std::atomic<std::uint64_t> handoffs{0};        // stuck workers whose queues it took
    std::atomic<std::uint64_t> tasks_moved{0};     // tasks taken from stuck workers
    std::atomic<std::uint64_t> spares_started{0};  // spare threads started
    std::atomic<std::uint64_t> spare_failures{0};  // spare threads that could not start
    std::atomic<std::uint64_t> stalls{0};          // stall episodes seen (stall_report set)
    std::atomic<std::uint64_t> stall_reports{0};   // stall lines printed
  };
  std::string diagnostics() const;

 private:
  struct Seen {
    std::uint32_t activity = 0;
    std::int64_t since_ns = 0;
    // The thread's CPU time at the last look that found it inside this task, and when; -1
    // until one did. Tells a thread in a blocking call from a computing one (watch_workers()).
    std::int64_t cpu_ns = -1;
    std::int64_t cpu_at_ns = 0;
    bool stuck = false;
    bool reported = false;
  };

  void loop();
  bool runtime_idle() const noexcept;
  void sleep_while_idle();
  bool serve_timers(std::int64_t now_ns);
  bool serve_poller(std::int64_t now_ns);
  bool watch_workers(std::int64_t now_ns);
  // The hand-off handshake: runs `fn` while `w`'s thread is kept inside the task it was
  // running when its activity read `seen`; false, without running `fn`, when it has moved on.
  template <class Fn>
  bool with_owner_held(Worker& w, std::uint32_t seen, Fn&& fn);
  bool take_queues(Worker& w, std::uint32_t seen_activity);
  void balance_spares(std::size_t stuck, std::size_t stuck_computing);
  void stall_report(Worker& w, std::uint32_t seen_activity, std::int64_t held_ns);

  Scheduler& sched_;
  const std::int64_t stall_after_ns_;  // 0: no stall reports
  std::vector<Seen> seen_;             // per worker and spare (Scheduler::all_workers order)
  const std::size_t cpus_;             // CPUs the process may run on, at startup
  std::int64_t last_poll_ns_ = 0;
  bool suspect_ = false;  // the last look saw a worker inside the same task as the one before
  std::int64_t last_report_ns_ = 0;
  std::uint64_t reports_suppressed_ = 0;
  Counters counters_;
  // Futex word: bumped to wake the monitor (stop, or a worker waking an idle runtime).
  alignas(64) std::atomic<std::uint32_t> epoch_{0};
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
