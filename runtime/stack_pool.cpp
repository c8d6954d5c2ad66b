// SPDX-License-Identifier: Apache-2.0
// The stack pool: every fiber (a stack with its record on top) a runtime has made, the
// free ones in each worker's private cache and in one shared list behind them, and the
// binding of a stack to a task when the task first runs.
//
// A worker takes and returns stacks through its own cache (no lock); the shared list, under
// pool_mu_, takes the overflow and serves workers whose cache is empty. Teardown unmaps
// every fiber ever made (all_fibers_), free or not.
#include <algorithm>
#include <atomic>
#include <mutex>

#include "runtime/fiber.hpp"
#include "runtime/machine/machine_context.hpp"
#include "runtime/sanitizers.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/stack.hpp"
#include "runtime/worker.hpp"
#include "spindle/detail/task_core.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

constexpr std::size_t kWorkerStackCache = 64;  // free stacks a worker keeps for itself
// Free stacks a spawner keeps in the shared pool (reserve_stack()).
constexpr std::size_t kPoolReserve = 64;

}  // namespace

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

Fiber* Scheduler::start_fiber(Worker* w, TaskCore* core) noexcept {
  Fiber* f;
  try {
    f = acquire_fiber(w);
  } catch (...) {
    core->fail(std::current_exception());
    note_task_failure(*core);
    if (registry_.finish(core, w->index())) core->release();
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

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
