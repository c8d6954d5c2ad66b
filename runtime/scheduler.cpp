// SPDX-License-Identifier: Apache-2.0
// The scheduler's core: construction (workers, spares, the monitor), spawning, making a
// parked fiber runnable again, and the runtime's diagnostics. The rest of it lives beside
// this file: the idle/wake protocol (idle.cpp), the stack pool (stack_pool.cpp), teardown
// and leak reports (teardown.cpp), the monitor (monitor.cpp), spares (spare.cpp).
#include "runtime/scheduler.hpp"

#include <new>
#include <sstream>
#include <stdexcept>
#include <string>

#include "runtime/coarse_clock.hpp"
#include "runtime/futex.hpp"
#include "runtime/io_choice.hpp"
#include "runtime/overflow_handler.hpp"
#include "runtime/process_fence.hpp"
#include "runtime/sigquit_dump.hpp"
#include "runtime/sim_core.hpp"
#include "runtime/trace.hpp"
#include "runtime/tracking.hpp"
#include "spindle/detail/task_core.hpp"
#include "spindle/task.hpp"

// Where debuggers find every live runtime (tools/gdb/spindle.py reads it from a live process
// or a core file). Set once, when the first runtime is made.
extern "C" {
spindle::detail::SchedulerList* spindle_debug_schedulers = nullptr;
}

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

// Spare workers the monitor may run beside the `workers`, to stand in for stuck ones: every
// worker of a small runtime, and a bounded number for a large one.
constexpr std::size_t kMaxSpares = 64;

std::size_t spare_count(std::size_t workers) { return std::min(workers + 2, kMaxSpares); }

// Process-wide, so ids never repeat across runtimes (leak checks filter by "spawned since").
std::atomic<std::uint64_t> g_next_task_id{1};
std::atomic<std::uint64_t> g_next_runtime_id{1};

}  // namespace

SchedulerList& scheduler_list() {
  static SchedulerList* list = [] {
    auto* l = new SchedulerList;  // never destroyed: runtimes may be static
    spindle_debug_schedulers = l;
    return l;
  }();
  return *list;
}

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
  // An impossible SPINDLE_IO (io_uring forced where the kernel refuses it, or an unknown
  // value) fails here, before anything starts, rather than at the first socket wait.
  if (sim == nullptr) (void)io_backend_choice();
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

Poller& Scheduler::poller() {
  if (Poller* p = poller_if_any()) return *p;
  std::lock_guard lock(poller_mu_);
  if (Poller* p = poller_if_any()) return *p;
  auto* p = new Poller;
  poller_.store(p, std::memory_order_seq_cst);
  return *p;
}

#if SPINDLE_TEST_HOOKS
std::atomic<void (*)()> g_outside_wake_hook{nullptr};
std::atomic<void (*)()> g_exclusive_claim_hook{nullptr};
#endif

void Scheduler::make_runnable_slow(Fiber* f, Worker* w) {
  if (trace::on()) [[unlikely]]
    trace::record(trace::Event::unpark, f->task);
  if (w != nullptr && &w->scheduler() == this) {
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
  wakeups_.enqueue(f);
  notify_work(nullptr);
  SPINDLE_TEST_HOOK(g_outside_wake_hook);
  // release: pairs with ~Scheduler's acquire; our reads of the scheduler come first.
  outside_wakers_.fetch_sub(1, std::memory_order_release);
}

void Scheduler::spawn(TaskCore* core) {
  Worker* w = Worker::current();
  if (w != nullptr && &w->scheduler() != this) w = nullptr;
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
  if (w == nullptr || w->free_fibers == nullptr) reserve_stack(w);  // the cached case inline
  // relaxed: ids need uniqueness, not order.
  core->id = g_next_task_id.fetch_add(1, std::memory_order_relaxed);
  core->runtime_id = id_;
  if constexpr (kTrackTasks) {
    core->spawned_at = stamp_now();
    // The worker is at hand on the common path; current_fiber() finds a parent running in
    // another runtime.
    Fiber* parent = w != nullptr ? w->current_fiber() : current_fiber();
    if (parent != nullptr) core->parent_id = parent->task->id;
  }
  registry_.add(core, w != nullptr ? w->index() : registry_.outside_shard());
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
  if (sim_ == nullptr) {
    const IoChoice& io = io_backend_choice();
    out << " io=" << to_string(io.kind) << " (" << io.why << ")";
  }
  if (monitor_ != nullptr) out << monitor_->diagnostics();
  return out.str();
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

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
