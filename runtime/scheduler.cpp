#include "runtime/scheduler.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <sstream>
#include <thread>

#include "runtime/overflow_handler.hpp"
#include "spindle/detail/task_core.hpp"

namespace spindle::detail {
namespace {

constexpr std::size_t kWorkerStackCache = 64;  // free stacks a worker keeps for itself
constexpr auto kQuiescenceBound = std::chrono::seconds(1);
constexpr auto kUnwindBound = std::chrono::seconds(10);

std::int64_t now_ns() { return Clock::now().time_since_epoch().count(); }

}  // namespace

Scheduler::Scheduler(const Options& options)
    : options_(options),
      stack_size_((options.stack_size + page_size() - 1) / page_size() * page_size()),
      timers_([this](std::int64_t deadline) {
        // A sleeper must wake earlier than it planned: wake one if nobody watches the
        // timers yet, all if the watcher sleeps past the new deadline (it cannot be woken
        // alone on the shared eventcount). A watcher that read the heap before this add
        // had announced itself first, so notify() finds it and bumps the epoch.
        if (!has_watcher_.load(std::memory_order_seq_cst)) {
          idle_.notify_one();
          // relaxed: a hint; a stale value costs at most one spurious wake-up.
        } else if (deadline < watch_deadline_.load(std::memory_order_relaxed)) {
          idle_.notify_all();
        }
      }) {
  install_overflow_handler();
  workers_.reserve(options.workers);
  for (std::size_t i = 0; i < options.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, i));
  }
  for (auto& w : workers_) w->start();
}

bool Scheduler::try_become_watcher(std::int64_t deadline_ns) noexcept {
  bool expected = false;
  if (!has_watcher_.compare_exchange_strong(expected, true, std::memory_order_seq_cst)) {
    return false;
  }
  // relaxed: read only as a hint by timer adds; has_watcher_ carries the ordering.
  watch_deadline_.store(deadline_ns, std::memory_order_relaxed);
  return true;
}

void Scheduler::resign_watcher() noexcept {
  // relaxed: see try_become_watcher.
  watch_deadline_.store(TimerHeap::kNever, std::memory_order_relaxed);
  has_watcher_.store(false, std::memory_order_seq_cst);
}

void Scheduler::notify_work() noexcept {
  // Spinners will find the work themselves; wake a sleeper only when nobody spins.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (spinning_.load(std::memory_order_seq_cst) == 0) idle_.notify_one();
}

bool Scheduler::claim_parked(Fiber* f) noexcept {
  std::uint32_t expected = Fiber::kParked;
  // acq_rel: acquire pairs with the worker's seq_cst store of kParked (the saved context is
  // complete); release hands the fiber to whoever dequeues it.
  return f->run_state.compare_exchange_strong(expected, Fiber::kRunnable, std::memory_order_acq_rel,
                                              std::memory_order_relaxed);
}

void Scheduler::make_runnable(Fiber* f) {
  Worker* w = Worker::current();
  if (w != nullptr && &w->sched == this) {
    w->push_runnext(f);
  } else {
    injection_.enqueue(f);
  }
  notify_work();
}

Fiber* Scheduler::new_fiber() {
  StackMemory mem = map_stack(stack_size_, kFiberRecordBytes, options_.guard_pages);
  Fiber* f = new (mem.high) Fiber;
  f->stack = mem;
  f->sched = this;
  {
    std::lock_guard lock(pool_mu_);
    try {
      all_fibers_.push_back(f);
    } catch (...) {
      f->~Fiber();
      unmap_stack(mem);
      throw;
    }
  }
  int mode = static_cast<int>(mem.mode);
  // relaxed: a diagnostic maximum; no data hangs on it.
  int seen = weakest_guard_.load(std::memory_order_relaxed);
  while (mode > seen &&
         !weakest_guard_.compare_exchange_weak(seen, mode, std::memory_order_relaxed)) {
  }
  return f;
}

Fiber* Scheduler::acquire_fiber(Worker* w) {
  if (w != nullptr && w->free_fibers != nullptr) {
    Fiber* f = w->free_fibers;
    w->free_fibers = f->next;
    --w->free_count;
    return f;
  }
  {
    std::lock_guard lock(pool_mu_);
    if (pool_free_ != nullptr) {
      Fiber* f = pool_free_;
      pool_free_ = f->next;
      return f;
    }
  }
  return new_fiber();
}

void Scheduler::release_fiber(Worker* w, Fiber* f) noexcept {
  san::destroy(f->san);
  f->task = nullptr;
  // relaxed: the fiber is private to this thread until it is handed out again under the
  // pool lock or from this worker's own cache.
  f->run_state.store(Fiber::kIdle, std::memory_order_relaxed);
  f->wait_kind.store(WaitKind::none, std::memory_order_relaxed);
  if (w != nullptr && w->free_count < kWorkerStackCache) {
    f->next = w->free_fibers;
    w->free_fibers = f;
    ++w->free_count;
    return;
  }
  std::lock_guard lock(pool_mu_);
  f->next = pool_free_;
  pool_free_ = f;
}

void Scheduler::spawn(TaskCore* core) {
  Worker* w = Worker::current();
  if (w != nullptr && &w->sched != this) w = nullptr;
  Fiber* f = acquire_fiber(w);
  f->task = core;
  // relaxed: ids need uniqueness, not order.
  core->id = next_task_id_.fetch_add(1, std::memory_order_relaxed);
  // relaxed: a counter read by teardown after joining the workers' effects via seq_cst.
  live_tasks_.fetch_add(1, std::memory_order_relaxed);
  f->next = nullptr;
  f->state_since_ns.store(now_ns(), std::memory_order_relaxed);  // relaxed: diagnostics
  san::create(f->san, f->stack.low,
              static_cast<std::size_t>(static_cast<char*>(f->stack.high) -
                                       static_cast<char*>(f->stack.low)));
  context_init(f->ctx, f->stack.low, f->stack.high, &fiber_entry, f);
  // relaxed: published by the queue push below.
  f->run_state.store(Fiber::kRunnable, std::memory_order_relaxed);
  if (w != nullptr) {
    w->push_local(f);
  } else {
    injection_.enqueue(f);
  }
  notify_work();
}

void Scheduler::task_finished() noexcept {
  // release: teardown's acquire load of zero sees every finished task's effects.
  live_tasks_.fetch_sub(1, std::memory_order_release);
}

GuardMode Scheduler::guard_mode() const noexcept {
  if (!options_.guard_pages) return GuardMode::none;
  // relaxed: diagnostic.
  int m = weakest_guard_.load(std::memory_order_relaxed);
  if (m == 0) {
    // No stack made yet: report what the next one would get.
    return GuardMode::madvise_guard;
  }
  return static_cast<GuardMode>(m);
}

std::string Scheduler::diagnostics() const {
  std::ostringstream out;
  std::size_t fibers;
  {
    std::lock_guard lock(pool_mu_);
    fibers = all_fibers_.size();
  }
  out << "spindle runtime: workers=" << workers_.size() << " stack_size=" << stack_size_
      << " guard="
      << to_string(guard_mode())
      // relaxed: statistics.
      << " live_tasks=" << live_tasks_.load(std::memory_order_relaxed) << " stacks=" << fibers
      << " timers=" << timers_.size()
      << " mprotect_guarded_stacks(process)=" << mprotect_guarded_stacks();
  return out.str();
}

void Scheduler::wait_quiescent() {
  const auto until = std::chrono::steady_clock::now() + kQuiescenceBound;
  while (std::chrono::steady_clock::now() < until) {
    if (live_tasks_.load(std::memory_order_acquire) == 0) return;  // acquire: task_finished
    bool all_idle = idle_.waiters() == workers_.size() &&
                    spinning_.load(std::memory_order_seq_cst) == 0 && injection_.size_approx() == 0;
    if (all_idle) {
      // Everybody sleeps; a due timer would have woken the watcher. Confirm once more
      // after a moment, so a wake-up in flight is not mistaken for quiescence.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (idle_.waiters() == workers_.size() && injection_.size_approx() == 0) return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void Scheduler::unwind_all() {
  // release: fibers that resume see teardown began (pairs with shutting_down()).
  shutting_down_.store(true, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const auto until = std::chrono::steady_clock::now() + kUnwindBound;
  while (live_tasks_.load(std::memory_order_acquire) != 0) {  // acquire: task_finished
    if (std::chrono::steady_clock::now() > until) {
      std::fprintf(stderr,
                   "spindle: ~Runtime: %lld task(s) did not unwind within 10 s (a task that "
                   "never blocks or yields, or one that blocks in a destructor); their "
                   "stacks are leaked\n",
                   static_cast<long long>(live_tasks_.load(std::memory_order_relaxed)));
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
    idle_.notify_all();
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

Scheduler::~Scheduler() {
  Worker* self = Worker::current();
  if (self != nullptr && &self->sched == this) {
    std::fputs("spindle: fatal error: a Runtime was destroyed from one of its own tasks\n", stderr);
    std::abort();
  }
  wait_quiescent();
  unwind_all();
  // release: pairs with stopping()'s acquire in each worker loop.
  stop_.store(true, std::memory_order_release);
  idle_.notify_all();
  for (auto& w : workers_) w->join();
  timers_.clear();
  std::lock_guard lock(pool_mu_);
  for (Fiber* f : all_fibers_) {
    StackMemory mem = f->stack;
    f->~Fiber();
    unmap_stack(mem);
  }
  all_fibers_.clear();
}

}  // namespace spindle::detail
