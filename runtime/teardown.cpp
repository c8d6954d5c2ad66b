// SPDX-License-Identifier: Apache-2.0
// Teardown of a runtime: wait until its tasks settle (quiescence), report the ones still
// blocked as leaks, unwind them (each blocked call throws an internal exception so that
// destructors run), then stop the monitor and the workers and unmap the stacks. Leak
// reports on demand (Scheduler::leaks) share the quiescence rule.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/futex.hpp"
#include "runtime/monitor.hpp"
#include "runtime/poller.hpp"
#include "runtime/process_fence.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/stack.hpp"
#include "runtime/task_alloc.hpp"
#include "runtime/worker.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

constexpr auto kQuiescenceBound = std::chrono::seconds(1);
// Teardown gives up only when unwinding stops making progress for this long, so a
// million blocked tasks may take as long as they need.
constexpr auto kUnwindStall = std::chrono::seconds(10);

LeakPolicy effective_leak_policy(LeakPolicy configured) {
  const char* env = std::getenv("SPINDLE_ON_LEAK");
  if (env == nullptr || *env == '\0') return configured;
  std::string v(env);
  if (v == "report") return LeakPolicy::report;
  if (v == "abort") return LeakPolicy::abort;
  if (v == "ignore") {
    // Leak checks turned off from outside the code must not go unnoticed (a CI job's
    // environment, say): say so, once per process.
    static std::once_flag said;
    std::call_once(said, [] {
      std::fputs("spindle: SPINDLE_ON_LEAK=ignore: leak reports are off\n", stderr);
    });
    return LeakPolicy::ignore;
  }
  std::fprintf(stderr,
               "spindle: SPINDLE_ON_LEAK='%s' is not one of report, abort, ignore; using the "
               "runtime's Options::on_leak\n",
               env);
  return configured;
}

}  // namespace

void Scheduler::wait_quiescent() {
  const auto until = std::chrono::steady_clock::now() + kQuiescenceBound;
  while (std::chrono::steady_clock::now() < until) {
    if (live_tasks() == 0) return;
    bool all_idle = nidle_.load(std::memory_order_seq_cst) >= expected_idle() &&
                    spinning_.load(std::memory_order_seq_cst) == 0 && outside_queues_empty();
    if (all_idle) {
      // Everybody sleeps; a due timer would have woken the watcher. Confirm once more
      // after a moment, so a wake-up in flight is not mistaken for quiescence.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (nidle_.load(std::memory_order_seq_cst) >= expected_idle() && outside_queues_empty()) {
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void Scheduler::unwind_all() {
  // release: fibers that resume see teardown began (pairs with shutting_down()).
  shutting_down_.store(true, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (fast_claims_) {
    // A worker claiming a fiber with a plain store (claim_parked_exclusive) raises its
    // `claiming` flag, then checks shutting_down_. After the process fence, a check that
    // missed our store has its flag visible here, and waiting for the flag to drop makes
    // that claim visible too: the CASes below fail on such fibers instead of resuming them
    // a second time. Later checks see the store and take the CAS path.
    process_fence();
    for (const Worker* w : all_) {
      // acquire: pairs with the release that drops the flag after the claim's store.
      while (w->claiming.load(std::memory_order_acquire) != 0) cpu_relax();
    }
  }
  auto progress_at = std::chrono::steady_clock::now();
  std::int64_t last_live = live_tasks();
  while (live_tasks() != 0) {
    const std::int64_t live = live_tasks();
    const auto now = std::chrono::steady_clock::now();
    if (live != last_live) {
      last_live = live;
      progress_at = now;
    } else if (now - progress_at > kUnwindStall) {
      std::fprintf(stderr,
                   "spindle: ~Runtime: %lld task(s) made no progress unwinding for 10 s (a "
                   "task that never blocks or yields, or one that blocks in a destructor)\n",
                   static_cast<long long>(live));
      std::abort();
    }
    std::vector<Fiber*> snapshot;
    {
      std::lock_guard lock(pool_mu_);
      snapshot = all_fibers_;
    }
    for (Fiber* f : snapshot) {
      if (claim_parked(f)) make_runnable(f);
    }
    wake_all();
    // Rescanning is only needed for tasks that block again while unwinding; let the
    // workers run (a scan of a million fibers costs milliseconds) until the count stalls.
    std::int64_t before = live_tasks();
    for (int i = 0; i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::int64_t now = live_tasks();
      if (now == 0 || (now == before && i >= 2)) break;
      before = now;
    }
  }
}

LeakReport Scheduler::leaks(std::chrono::nanoseconds grace, const LeakOptions* filter) const {
  const TaskCore* self = nullptr;
  if (Worker* w = Worker::current();
      w != nullptr && &w->scheduler() == this && w->current_fiber()) {
    self = w->current_fiber()->task;
  }
  const auto until = Clock::now() + grace;
  const FrameRequest frames{.filter = filter};
  for (;;) {
    // Only the scan that is reported reads the stacks of the tasks in it.
    const bool last = Clock::now() >= until;
    std::vector<TaskInfo> found = registry_.snapshot(self, true, last ? &frames : nullptr);
    if (filter != nullptr) {
      std::erase_if(found, [&](const TaskInfo& t) {
        return filter->baseline.excludes(t) || filter->ignores(t);
      });
    }
    if (found.empty() || last) return LeakReport(std::move(found));
    // Parks a task, sleeps a thread.
    sleep_for(std::chrono::milliseconds(1));
  }
}

bool Scheduler::quiet_now() const noexcept {
  return live_tasks() > 0 && nidle_.load(std::memory_order_seq_cst) >= expected_idle() &&
         spinning_.load(std::memory_order_seq_cst) == 0 && outside_queues_empty() &&
         timers_.next_deadline_ns() == TimerHeap::kNever && outside_calls() == 0 &&
         (poller_if_any() == nullptr || poller_if_any()->waiters() == 0);
}

void Scheduler::report_leaks_at_teardown() {
  const LeakPolicy policy = effective_leak_policy(options_.on_leak);
  const FrameRequest frames;
  std::vector<TaskInfo> leaked = registry_.snapshot(nullptr, true, &frames);
  // "ignore" means the owner expects these tasks: not even testing::LeakCheck hears of them.
  if (leaked.empty() || policy == LeakPolicy::ignore) return;
  publish_teardown_leaks(leaked);
  LeakReport report(std::move(leaked));
  std::fprintf(stderr, "spindle: ~Runtime: %zu leaked task(s); unwinding them:\n%s", report.size(),
               report.to_string().c_str());
  if (policy == LeakPolicy::abort) {
    std::fputs("spindle: aborting (LeakPolicy::abort / SPINDLE_ON_LEAK=abort)\n", stderr);
    std::abort();
  }
}

Scheduler::~Scheduler() {
  Worker* self = Worker::current();
  if (self != nullptr && &self->scheduler() == this) {
    std::fputs("spindle: fatal error: a Runtime was destroyed from one of its own tasks\n", stderr);
    std::abort();
  }
  bool last_runtime = false;
  {
    // Out of the list first: a concurrent LeakCheck must not look at a dying runtime.
    SchedulerList& list = scheduler_list();
    std::lock_guard lock(list.mu);
    std::erase(list.all, this);
    last_runtime = list.all.empty();
  }
  // A simulation has already settled, reported and unwound its tasks (SimCore::teardown).
  if (sim_ == nullptr) {
    wait_quiescent();
    report_leaks_at_teardown();
    unwind_all();
  }
  // No more spares from here: the monitor stops before the threads it may start. The object
  // stays until the workers are gone (they call monitor_wake()).
  if (monitor_ != nullptr) monitor_->stop();
  // release: pairs with stopping()'s acquire in each worker loop.
  stop_.store(true, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake_all();
  for (auto& sp : spares_) {
    // release: a dormant spare wakes, sees stop and ends its thread.
    sp->spare_state.store(Worker::kSpareStop, std::memory_order_release);
    futex_wake(sp->spare_state, 1);
  }
  for (auto& w : workers_) w->join();
  for (auto& sp : spares_) sp->join();
  // The workers' record caches went to the shared pool as their threads ended.
  if (last_runtime) release_pooled_task_records();
  // acquire: pairs with make_runnable()'s release; an outside waker is done with us.
  while (outside_wakers_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  delete poller_.exchange(nullptr, std::memory_order_seq_cst);
  timers_.clear();
  std::lock_guard lock(pool_mu_);
  for (Fiber* f : all_fibers_) {
    StackMemory mem = f->stack;
    f->~Fiber();
    unmap_stack(mem);
  }
  all_fibers_.clear();
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
