#include "runtime/scheduler.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime/coarse_clock.hpp"
#include "runtime/futex.hpp"
#include "runtime/overflow_handler.hpp"
#include "runtime/process_fence.hpp"
#include "runtime/sigquit_dump.hpp"
#include "runtime/sim_core.hpp"
#include "runtime/task_alloc.hpp"
#include "runtime/trace.hpp"
#include "runtime/tracking.hpp"
#include "spindle/detail/spin_lock.hpp"
#include "spindle/detail/task_core.hpp"
#include "spindle/task.hpp"

// Where debuggers find every live runtime (tools/gdb/spindle.py reads it from a live process
// or a core file). Set once, when the first runtime is made.
extern "C" {
spindle::detail::SchedulerList* spindle_debug_schedulers = nullptr;
}

namespace spindle::detail {
namespace {

constexpr std::size_t kWorkerStackCache = 64;  // free stacks a worker keeps for itself
// Free stacks a spawner keeps in the shared pool (reserve_stack()).
constexpr std::size_t kPoolReserve = 64;
// Spare workers the monitor may run beside the `workers`, to stand in for stuck ones: every
// worker of a small runtime, and a bounded number for a large one.
constexpr std::size_t kMaxSpares = 64;

std::size_t spare_count(std::size_t workers) { return std::min(workers + 2, kMaxSpares); }
constexpr auto kQuiescenceBound = std::chrono::seconds(1);
// Teardown gives up only when unwinding stops making progress for this long, so a
// million blocked tasks may take as long as they need.
constexpr auto kUnwindStall = std::chrono::seconds(10);

// Process-wide, so ids never repeat across runtimes (leak checks filter by "spawned since").
std::atomic<std::uint64_t> g_next_task_id{1};
std::atomic<std::uint64_t> g_next_runtime_id{1};

SchedulerList& scheduler_list() {
  static SchedulerList* list = [] {
    auto* l = new SchedulerList;  // never destroyed: runtimes may be static
    spindle_debug_schedulers = l;
    return l;
  }();
  return *list;
}

LeakPolicy effective_leak_policy(LeakPolicy configured) {
  const char* env = std::getenv("SPINDLE_ON_LEAK");
  if (env == nullptr || *env == '\0') return configured;
  std::string v(env);
  if (v == "report") return LeakPolicy::report;
  if (v == "abort") return LeakPolicy::abort;
  if (v == "ignore") return LeakPolicy::ignore;
  std::fprintf(stderr,
               "spindle: SPINDLE_ON_LEAK='%s' is not one of report, abort, ignore; using the "
               "runtime's Options::on_leak\n",
               env);
  return configured;
}

}  // namespace

Scheduler::Scheduler(const Options& options, SimCore* sim)
    : options_(options),
      // relaxed: ids need uniqueness only.
      id_(g_next_runtime_id.fetch_add(1, std::memory_order_relaxed)),
      stack_size_((options.stack_size + page_size() - 1) / page_size() * page_size()),
      timers_([this](std::int64_t deadline) {
        // A sleeper planned to wake later than this new timer: wake one, it re-plans. The
        // heap was updated under its lock before this runs; the fence orders that update
        // before the reads below (the sleeper side registers, fences, then reads the heap).
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (deadline < watch_deadline_.load(std::memory_order_seq_cst) &&
            nidle_.load(std::memory_order_seq_cst) != 0) {
          wake_one();
        }
      }),
      registry_(options.workers + (sim != nullptr ? 0 : spare_count(options.workers)) + 1, id_),
      fast_claims_(process_fence_available()),
      sim_(sim) {
  install_overflow_handler();
  start_coarse_ticker();
  trace::start_from_env();
  install_sigquit_dump_if_enabled();
  {
    SchedulerList& list = scheduler_list();
    std::lock_guard lock(list.mu);
    list.all.push_back(this);
  }
  workers_.reserve(options.workers);
  for (std::size_t i = 0; i < options.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, i));
  }
  single_worker_ = workers_.size() == 1;
  for (auto& w : workers_) all_.push_back(w.get());
  if (sim_ != nullptr) {
    workers_.front()->sim = sim_;
    return;
  }
  const std::size_t spares = spare_count(options.workers);
  for (std::size_t i = 0; i < spares; ++i) {
    spares_.push_back(std::make_unique<Worker>(*this, options.workers + i, true));
    all_.push_back(spares_.back().get());
  }
  for (Worker* w : all_) w->prepare();
  // Before the workers: they read monitor_ (monitor_wake()) from their first sleep on.
  monitor_ = std::make_unique<Monitor>(*this);
  for (auto& w : workers_) w->start();
}

void Scheduler::requeue(Fiber* f) {
  san::publish(f);
  injection_.enqueue(f);
  notify_work(nullptr);
}

Scheduler::SpareStart Scheduler::start_spare(Worker& sp) noexcept {
  // acquire: pairs with the spare's release as it went dormant or ended its thread (its
  // queues are empty then).
  std::uint32_t state = sp.spare_state.load(std::memory_order_acquire);
  if (state == Worker::kSpareDormant) {
    // acq_rel: as above, and the release hands the activation to the waiting thread.
    if (!sp.spare_state.compare_exchange_strong(state, Worker::kSpareActive,
                                                std::memory_order_acq_rel)) {
      if (state != Worker::kSpareExited) return SpareStart::busy;  // it lingered out just now
    } else {
      active_spares_.fetch_add(1, std::memory_order_seq_cst);
      futex_wake(sp.spare_state, 1);
      return SpareStart::started;
    }
  }
  if (state != Worker::kSpareExited) return SpareStart::busy;
  sp.join();  // a thread that lingered out has ended, or is about to
  // relaxed: no thread reads it until start() creates one (which publishes it).
  sp.spare_state.store(Worker::kSpareActive, std::memory_order_relaxed);
  active_spares_.fetch_add(1, std::memory_order_seq_cst);
  try {
    sp.start();
  } catch (...) {
    active_spares_.fetch_sub(1, std::memory_order_seq_cst);
    sp.spare_state.store(Worker::kSpareExited, std::memory_order_relaxed);  // relaxed: no thread
    return SpareStart::failed;
  }
  return SpareStart::started;
}

void Scheduler::wake_worker(Worker& w) {
  {
    std::lock_guard lock(idle_mu_);
    if (!w.in_idle) return;  // awake: it sees the request on its next round
    std::erase(idle_, &w);
    w.in_idle = false;
    nidle_.fetch_sub(1, std::memory_order_seq_cst);
    spinning_.fetch_add(1, std::memory_order_seq_cst);  // as wake_one(): it wakes spinning
    // release: pairs with the sleeper's acquire.
    w.wake_flag.store(1, std::memory_order_release);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);  // as in wake_one()
  Poller* p = poller_if_any();
  if (p != nullptr && p->owner() == &w) {
    p->kick();
  } else {
    futex_wake(w.wake_flag, 1);
  }
}

void Scheduler::push_idle(Worker* w) {
  std::lock_guard lock(idle_mu_);
  // relaxed: reset before the worker is visible in idle_; wakers set it under idle_mu_ and
  // the sleeper reads it with acquire.
  w->wake_flag.store(0, std::memory_order_relaxed);
  w->in_idle = true;
  idle_.push_back(w);
  nidle_.fetch_add(1, std::memory_order_seq_cst);
}

bool Scheduler::remove_idle(Worker* w) {
  std::lock_guard lock(idle_mu_);
  if (!w->in_idle) return false;  // a waker took it: it counts as a spinner now
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    if (*it == w) {
      idle_.erase(it);
      break;
    }
  }
  w->in_idle = false;
  nidle_.fetch_sub(1, std::memory_order_seq_cst);
  return true;
}

bool Scheduler::wake_one() {
  Worker* w;
  {
    std::lock_guard lock(idle_mu_);
    if (idle_.empty()) return false;
    // Leave the worker blocked in epoll_wait (if any) polling while another sleeper can go.
    std::size_t pick = idle_.size() - 1;
    Poller* p = poller_if_any();
    if (pick > 0 && p != nullptr && p->owner() == idle_[pick]) --pick;
    w = idle_[pick];
    idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(pick));
    w->in_idle = false;
    nidle_.fetch_sub(1, std::memory_order_seq_cst);
    // The woken worker starts as a spinner: until it finds work or gives up, producers
    // need not wake anyone else.
    spinning_.fetch_add(1, std::memory_order_seq_cst);
    // release: pairs with the sleeper's acquire; it sees everything published before.
    w->wake_flag.store(1, std::memory_order_release);
  }
  // Pairs with Poller::idle_wait(): the worker publishes itself as the poller's owner, then
  // re-reads wake_flag; we stored wake_flag, then read the owner. One side sees the other.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  Poller* p = poller_if_any();
  if (p != nullptr && p->owner() == w) {
    p->kick();
  } else {
    futex_wake(w->wake_flag, 1);
  }
  return true;
}

Poller& Scheduler::poller() {
  if (Poller* p = poller_if_any()) return *p;
  std::lock_guard lock(poller_mu_);
  if (Poller* p = poller_if_any()) return *p;
  auto* p = new Poller;
  poller_.store(p, std::memory_order_seq_cst);
  return *p;
}

void Scheduler::wake_all() {
  while (wake_one()) {
  }
}

void Scheduler::notify_work(const Worker* from) noexcept {
  // The only worker is the caller, awake: nobody to wake, and the fence is not free.
  if (from != nullptr && workers_.size() == 1) return;
  // Spinners will find the work themselves; wake a sleeper only when nobody spins.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (spinning_.load(std::memory_order_seq_cst) != 0) return;
  if (nidle_.load(std::memory_order_seq_cst) == 0) return;
  wake_one();
}

std::atomic<void (*)()> g_outside_wake_hook{nullptr};
std::atomic<void (*)()> g_exclusive_claim_hook{nullptr};

void Scheduler::make_runnable_slow(Fiber* f, Worker* w) {
  if (trace::on()) [[unlikely]]
    trace::record(trace::Event::unpark, f->task);
  if (w != nullptr && &w->sched == this) {
    make_runnable_here(f, *w);
    return;
  }
  if (sim_ != nullptr) {
    sim_->enqueue_from_outside(f);
    return;
  }
  // A thread outside the runtime (a blocking-pool thread, a plain thread on a channel):
  // the task may run, finish and let the runtime be destroyed before this call returns,
  // so ~Scheduler waits for it. relaxed: ordered before the enqueue's release, which the
  // task's run (and so the teardown that follows it) comes after.
  outside_wakers_.fetch_add(1, std::memory_order_relaxed);
  san::publish(f);
  injection_.enqueue(f);
  notify_work(nullptr);
  // relaxed: set by tests before the wake-up they stall.
  if (auto hook = g_outside_wake_hook.load(std::memory_order_relaxed)) [[unlikely]]
    hook();
  // release: pairs with ~Scheduler's acquire; our reads of the scheduler come first.
  outside_wakers_.fetch_sub(1, std::memory_order_release);
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
      // relaxed: a hint for reserve_stack(); the list itself is under pool_mu_.
      pool_count_.store(pool_count_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
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
  push_pool(f);
}

void Scheduler::push_pool(Fiber* f) noexcept {
  std::lock_guard lock(pool_mu_);
  f->next = pool_free_;
  pool_free_ = f;
  // relaxed: see acquire_fiber().
  pool_count_.store(pool_count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void Scheduler::reserve_stack(Worker* w) {
  if (w != nullptr && w->free_fibers != nullptr) return;
  // relaxed: a hint; a stale count at worst maps one stack early or one late.
  if (pool_count_.load(std::memory_order_relaxed) >= (sim_ != nullptr ? 1 : kPoolReserve)) return;
  release_fiber(nullptr, new_fiber());
}

void Scheduler::spawn(TaskCore* core) {
  Worker* w = Worker::current();
  if (w != nullptr && &w->sched != this) w = nullptr;
  if (sim_ != nullptr && w == nullptr && SimCore::current() != sim_) {
    throw std::logic_error(
        "spindle: spawn onto a testing::Simulation from outside it (another thread or runtime); "
        "only the simulation's own tasks and Simulation::run may start its tasks");
  }
  // A task takes a free stack when it first runs: a task that ends without blocking hands
  // its stack on to the next, and spawning many short tasks touches few stacks. A spawner
  // with no stack of its own at hand keeps the shared pool stocked instead (mapping one
  // throws when it cannot, so running out of stacks surfaces here). While the spawned tasks
  // block and keep their stacks, the workers that start them drain the pool, and the
  // spawner pays for their stacks (the mapping, the first page's fault), as Go's pays for its
  // goroutines': its tasks start in step with it instead of queueing behind page faults.
  reserve_stack(w);
  // relaxed: ids need uniqueness, not order.
  core->id = g_next_task_id.fetch_add(1, std::memory_order_relaxed);
  core->runtime_id = id_;
  if constexpr (kTrackTasks) {
    core->spawned_at = stamp_now();
    // The worker is at hand on the common path; current_fiber() finds a parent running in
    // another runtime.
    Fiber* parent = w != nullptr ? w->current_fiber : current_fiber();
    if (parent != nullptr) core->parent_id = parent->task->id;
  }
  registry_.add(core, w != nullptr ? w->index : registry_.outside_shard());
  if (trace::on()) [[unlikely]]
    trace::record(trace::Event::spawn, core);
  if (w != nullptr) {
    // relaxed: only this thread writes it; see live_tasks() for why the reader is safe.
    w->spawned.store(w->spawned.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  } else {
    // relaxed: as above; several outside threads may spawn at once, hence the RMW.
    outside_spawned_.fetch_add(1, std::memory_order_relaxed);
  }
  if (w != nullptr) {
    // A deque that already held work has a thief on its way (push_local says when not).
    if (!w->push_local(queue_item(core))) return;
  } else if (sim_ != nullptr) {
    sim_->enqueue_from_outside(queue_item(core));
    return;
  } else {
    san::publish(queue_item(core));
    injection_.enqueue(queue_item(core));
  }
  notify_work(w);
}

Fiber* Scheduler::start_fiber(Worker* w, TaskCore* core) noexcept {
  Fiber* f;
  try {
    f = acquire_fiber(w);
  } catch (...) {
    core->fail(std::current_exception());
    note_task_failure(*core);
    if (registry_.finish(core, w->index)) core->release();
    task_finished(*w);
    return nullptr;
  }
  f->task = core;
  f->next = nullptr;
  // parked_at is stamped at each park (Waiter::park): only parked states show a time.
  san::create(f->san, f->stack.low,
              static_cast<std::size_t>(static_cast<char*>(f->stack.high) -
                                       static_cast<char*>(f->stack.low)));
  context_init(f->ctx, f->stack.low, f->stack.high, &fiber_entry, f);
  // release: pairs with TaskRegistry::describe()'s acquire.
  core->fiber.store(f, std::memory_order_release);
  return f;
}

void Scheduler::task_finished(Worker& w) noexcept {
  // release: teardown's acquire load of a zero count sees every finished task's effects.
  // Only this thread writes it.
  w.finished.store(w.finished.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

std::int64_t Scheduler::live_tasks() const noexcept {
  // Finishes first, then spawns: a task counted as finished was spawned before (its spawn
  // happens-before its run, which the finish count releases and our acquire takes in), so
  // the spawn loads below see its spawn, and the difference never drops below the number of
  // counted tasks still alive. A task that finishes between the two passes is counted as
  // alive: an overestimate, which callers treat as "not yet".
  std::int64_t finished = 0;
  // acquire: pairs with task_finished()'s release store.
  for (const Worker* w : all_) finished += w->finished.load(std::memory_order_acquire);
  // relaxed: ordered after the acquire loads above, which is all the argument needs.
  std::int64_t spawned = outside_spawned_.load(std::memory_order_relaxed);
  for (const Worker* w : all_) spawned += w->spawned.load(std::memory_order_relaxed);
  return spawned - finished;
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
      << " live_tasks=" << live_tasks() << " stacks=" << fibers << " timers=" << timers_.size()
      << " mprotect_guarded_stacks(process)=" << mprotect_guarded_stacks()
      << " active_spares=" << active_spares();
  if (monitor_ != nullptr) out << monitor_->diagnostics();
  return out.str();
}

void Scheduler::wait_quiescent() {
  const auto until = std::chrono::steady_clock::now() + kQuiescenceBound;
  while (std::chrono::steady_clock::now() < until) {
    if (live_tasks() == 0) return;
    bool all_idle = nidle_.load(std::memory_order_seq_cst) >= expected_idle() &&
                    spinning_.load(std::memory_order_seq_cst) == 0 && injection_.size_approx() == 0;
    if (all_idle) {
      // Everybody sleeps; a due timer would have woken the watcher. Confirm once more
      // after a moment, so a wake-up in flight is not mistaken for quiescence.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (nidle_.load(std::memory_order_seq_cst) >= expected_idle() &&
          injection_.size_approx() == 0) {
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
  if (Worker* w = Worker::current(); w != nullptr && &w->sched == this && w->current_fiber) {
    self = w->current_fiber->task;
  }
  const auto until = Clock::now() + grace;
  for (;;) {
    std::vector<TaskInfo> found = registry_.snapshot(self, true);
    if (filter != nullptr) {
      std::erase_if(found, [&](const TaskInfo& t) {
        return filter->baseline.excludes(t) || filter->ignores(t);
      });
    }
    if (found.empty() || Clock::now() >= until) return LeakReport(std::move(found));
    // Parks a task, sleeps a thread.
    sleep_for(std::chrono::milliseconds(1));
  }
}

bool Scheduler::quiet_now() const noexcept {
  return live_tasks() > 0 && nidle_.load(std::memory_order_seq_cst) >= expected_idle() &&
         spinning_.load(std::memory_order_seq_cst) == 0 && injection_.size_approx() == 0 &&
         timers_.next_deadline_ns() == TimerHeap::kNever && outside_calls() == 0 &&
         (poller_if_any() == nullptr || poller_if_any()->waiters() == 0);
}

void Scheduler::report_leaks_at_teardown() {
  const LeakPolicy policy = effective_leak_policy(options_.on_leak);
  std::vector<TaskInfo> leaked = registry_.snapshot(nullptr, true);
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

std::uint64_t next_task_id() noexcept {
  // relaxed: a lower bound for "spawned since"; ids are handed out by fetch_add.
  return g_next_task_id.load(std::memory_order_relaxed);
}

void for_each_scheduler(const std::function<void(Scheduler&)>& fn) {
  SchedulerList& list = scheduler_list();
  std::lock_guard lock(list.mu);
  for (Scheduler* s : list.all) fn(*s);
}

Scheduler::~Scheduler() {
  Worker* self = Worker::current();
  if (self != nullptr && &self->sched == this) {
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

}  // namespace spindle::detail
