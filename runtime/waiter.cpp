// SPDX-License-Identifier: Apache-2.0
#include "spindle/detail/waiter.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "runtime/coarse_clock.hpp"
#include "runtime/futex.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/sim_core.hpp"
#include "runtime/tracking.hpp"
#include "runtime/worker.hpp"
#include "spindle/detail/spin_lock.hpp"
#include "spindle/detail/task_core.hpp"
#include "spindle/detail/timer.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

// Before a park: what the task waits on, and since when. Only parked states show a time
// (TaskRegistry::describe), so the clock is read here and not when the task resumes.
void describe_park(Fiber* f, WaitKind kind, const void* object) {
  if constexpr (!kTrackTasks) return;
  // relaxed: diagnostics; a reader that sees kParked (the worker's release store after the
  // switch) with acquire sees these; of a running task it tolerates a torn picture.
  f->wait_kind.store(kind, std::memory_order_relaxed);
  f->wait_object.store(object, std::memory_order_relaxed);
  // parked_at is stamped by Worker::park_current(), with the worker's clock check.
  // relaxed: only this fiber writes it; ordered for readers like the stores above.
  f->park_seq.store(f->park_seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

const char g_forever = 0;

// Teardown resumes a parked fiber without notifying its waiter; the blocking call must then
// unwind. Inside a destructor that already runs because of an exception, throwing would
// terminate, and returning would make the caller believe it was woken: neither is safe.
[[noreturn]] void unwind_from_park() {
  if (std::uncaught_exceptions() > 0) {
    std::fputs(
        "spindle: fatal error: a task blocked inside a destructor while the runtime was "
        "unwinding it; destructors in tasks must not block at Runtime teardown\n",
        stderr);
    std::abort();
  }
  throw ForcedUnwind{};
}

void check_simulation_boundary(const Fiber* woken) noexcept {
  const SimCore* owner = woken != nullptr ? woken->sched->simulation() : nullptr;
  if (owner != t_current_sim) die_at_simulation_boundary(owner != nullptr);
}

}  // namespace

namespace {
std::atomic<std::size_t> g_outside_calls{0};
}  // namespace

// seq_cst: the deadlock detector's reads of this and of the idle set must not be reordered
// against a thread entering a call and then waking a task.
OutsideCall::OutsideCall() noexcept { g_outside_calls.fetch_add(1, std::memory_order_seq_cst); }
OutsideCall::~OutsideCall() { g_outside_calls.fetch_sub(1, std::memory_order_seq_cst); }
std::size_t outside_calls() noexcept { return g_outside_calls.load(std::memory_order_seq_cst); }

const char* to_string(WaitKind kind) noexcept {
  switch (kind) {
    case WaitKind::none:
      return "running";
    case WaitKind::chan_recv:
      return "chan recv";
    case WaitKind::chan_send:
      return "chan send";
    case WaitKind::select:
      return "select";
    case WaitKind::sleep:
      return "sleep";
    case WaitKind::join:
      return "join";
    case WaitKind::mutex:
      return "mutex";
    case WaitKind::waitgroup:
      return "waitgroup";
    case WaitKind::context:
      return "context";
    case WaitKind::io:
      return "io wait";
    case WaitKind::blocking:
      return "blocking call";
    case WaitKind::other:
      return "blocked";
  }
  return "blocked";
}

const void* forever_object() noexcept { return &g_forever; }

bool Waiter::wake() noexcept {
  Fiber* f = fiber_;  // read first: the owner may free *this once kNotified lands
  // A simulation must not exchange wake-ups with the world outside it: such a run could not
  // replay. Checked before the exchange, so the race is caught whichever side arrives first.
  if (t_current_sim != nullptr || (f != nullptr && f->sched->simulation() != nullptr))
      [[unlikely]] {
    check_simulation_boundary(f);
  }
  if (f == nullptr) {
    // acq_rel: release publishes the waker's writes to the sleeper; acquire pairs with its
    // CAS to kParked.
    const std::uint32_t prev = state_.exchange(kNotified, std::memory_order_acq_rel);
    if (prev == kNotified) return false;
    // The sleeper may already be gone after a spurious wake-up; a futex wake on a dead
    // address wakes nobody that does not re-check its own condition.
    if (prev == kParked) futex_wake(state_, 1);
    return true;
  }
  // A task. Before it has parked, the waker leaves kNotified for the worker's CAS to find.
  // Once parked (state kParked), the fiber itself is claimed, with one CAS of its run_state
  // that also settles the race with other wakers and with teardown, and kNotified is then a
  // plain store: one locked instruction per wake-up instead of two.
  // acquire: pairs with the worker's acq_rel CAS to kParked, after its store of the fiber's
  // kParked run_state; and with another waker's release store of kNotified.
  std::uint32_t s = state_.load(std::memory_order_acquire);
  while (s == kIdle) {
    // acq_rel: release publishes the waker's writes to the owner, which acquires them when
    // its CAS to kParked fails or when park() sees kNotified; acquire: as the load above.
    if (state_.compare_exchange_weak(s, kNotified, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      return true;
    }
  }
  if (s == kNotified) return false;
  // Parked. The owner stays parked until someone claims the fiber, and a waker reaching
  // this Waiter is one its owner waits for before leaving (a claim protocol, timer_cancel):
  // so the fiber cannot have moved on to another park. Only one claim succeeds.
  // kParkedExclusive: this waker is the only one (teardown aside): it won the wait's claim
  // (a select's claim word, or a plain operation's under the channel lock it parked
  // holding), so a worker of the fiber's runtime may claim the fiber with a plain store.
  Worker* const w = Worker::current_here();  // wake() never switches
  const bool mine = s == kParkedExclusive && w != nullptr && &w->scheduler() == f->sched
                        ? f->sched->claim_parked_exclusive(f, *w)
                        : Scheduler::claim_parked(f);
  // release: publishes the waker's writes; the owner reads kNotified after it resumes, and
  // wait_for_claimer() reads it as "the unpark has landed". Stored before make_runnable():
  // once the fiber can run, it may free *this.
  state_.store(kNotified, std::memory_order_release);
  if (mine) f->sched->make_runnable(f, w);
  // A claim lost to teardown reports false to every waker: the task unwinds anyway.
  return mine;
}

void Waiter::park() {
  Fiber* f = fiber_;
  if (f == nullptr) {
    OutsideCall in_call;
    std::uint32_t expected = kIdle;
    // acquire: on failure we observed kNotified and must see the waker's writes.
    if (state_.compare_exchange_strong(expected, kParked, std::memory_order_acquire,
                                       std::memory_order_acquire)) {
      // acquire: pairs with wake()'s release exchange.
      while (state_.load(std::memory_order_acquire) == kParked) futex_wait(state_, kParked);
    }
    return;
  }
  if (f->sched->shutting_down() && std::uncaught_exceptions() == 0) throw ForcedUnwind{};
  // acquire: pairs with wake()'s release; a wake-up that already happened skips the switch
  // (the worker's CAS after the switch catches one that races with it).
  if (state_.load(std::memory_order_acquire) == kNotified) return;
  switch_away(f, nullptr);
}

void Waiter::park_releasing(SpinLock& lock) {
  Fiber* f = fiber_;
  if (f == nullptr || (f->sched->shutting_down() && std::uncaught_exceptions() == 0)) {
    lock.unlock();
    park();
    return;
  }
  // Nobody can have woken us: every waker needs `lock`, which we hold.
  switch_away(f, &lock);
}

void Waiter::switch_away(Fiber* f, SpinLock* release) {
  describe_park(f, kind_, object_);
  f->worker->park_current(*this, release);
  // Nothing is reset on resumption: readers look at the wait fields only while run_state
  // says kParked, and park_seq moves with every park.
  // acquire: pairs with wake()'s release store (or exchange).
  if (state_.load(std::memory_order_acquire) != kNotified) unwind_from_park();
}

namespace {
struct TimeoutState {
  Waiter* waiter;
  std::atomic<bool> timer_won{false};
};
void on_park_timeout(TimerNode& node) {
  auto* st = static_cast<TimeoutState*>(node.context);
  // relaxed: read by the owner only after timer_cancel(), which synchronizes with the end
  // of this callback.
  if (st->waiter->wake()) st->timer_won.store(true, std::memory_order_relaxed);
}
}  // namespace

bool Waiter::park_until(TimePoint deadline) {
  if (fiber_ == nullptr) {
    OutsideCall in_call;
    std::uint32_t expected = kIdle;
    // acquire: on failure we observed kNotified.
    if (!state_.compare_exchange_strong(expected, kParked, std::memory_order_acquire,
                                        std::memory_order_acquire)) {
      return true;
    }
    for (;;) {
      // acquire: pairs with wake()'s release exchange.
      if (state_.load(std::memory_order_acquire) != kParked) return true;
      if (Clock::now() >= deadline) {
        expected = kParked;
        // Back to idle so a late unpark() is a harmless no-op; losing the race means we
        // were woken after all.
        if (state_.compare_exchange_strong(expected, kIdle, std::memory_order_acquire,
                                           std::memory_order_acquire)) {
          return false;
        }
        return true;
      }
      futex_wait(state_, kParked, &deadline);
    }
  }
  TimeoutState st{this};
  TimerNode node(&on_park_timeout, &st);
  node.when = deadline;
  timer_add(node);
  struct Cancel {
    TimerNode& n;
    ~Cancel() { timer_cancel(n); }
  } cancel{node};
  park();
  timer_cancel(node);
  // relaxed: timer_cancel() synchronized with the callback's completion.
  return !st.timer_won.load(std::memory_order_relaxed);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
