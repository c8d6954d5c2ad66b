// SPDX-License-Identifier: Apache-2.0
#include "runtime/worker.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "runtime/coarse_clock.hpp"
#include "runtime/futex.hpp"
#include "runtime/overflow_handler.hpp"
#include "runtime/process_fence.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/sim_core.hpp"
#include "runtime/trace.hpp"
#include "runtime/tracking.hpp"
#include "spindle/detail/solo_worker.hpp"
#include "spindle/detail/spin_lock.hpp"
#include "spindle/detail/task_core.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

constinit thread_local Worker* tl_worker = nullptr;
constinit thread_local const void* t_solo_worker_tag = nullptr;

namespace {

// The steal patiences below are a burst or two of the owner's work, sized for optimised
// builds. Under ThreadSanitizer a hand-off runs many times slower, so those windows would
// cover only a fraction of a burst and thieves would split groups that a release build keeps
// together (see SchedulerLocality.AGroupPassingMessagesSharesAWorker). Scaling them up keeps
// the sanitizer build's scheduling like the one it checks, while idle workers still take
// what is left behind well within a timer tick. AddressSanitizer's slowdown is small enough
// to stay inside the windows' margin.
#if defined(SPINDLE_TSAN)
constexpr long kPatienceScale = 8;
#else
constexpr long kPatienceScale = 1;
#endif
constexpr std::uint32_t kGlobalPollInterval = 61;  // rounds between fairness polls
// Wake-ups a worker takes from the outside queue at once (find_global()).
constexpr std::size_t kWakeupBatch = 32;
constexpr std::uint32_t kRunnextStreakLimit = 32;  // then the deque gets a turn
// How long a thief leaves a lone task behind a busy worker before taking it (steal_from()).
constexpr std::chrono::nanoseconds kStealPatience{3000 * kPatienceScale};
// The same for a short queue of woken tasks (fewer than kShareAtOnce, the oldest not a fresh
// spawn): in message passing, the owner gets to them within a burst or two, and a thief
// that takes them splits the group across cores. Longer is better for such groups and worse
// for a pool of workers woken with jobs, which the scheduler cannot tell apart (a producer
// filling a buffer looks like a job). Having no patience at all splits message-passing
// groups badly; a long one leaves woken jobs waiting behind a busy worker. This value sits
// between the two: most of the gain for groups, little delay for jobs.
constexpr std::chrono::nanoseconds kWokenPatience{6000 * kPatienceScale};
constexpr std::size_t kShareAtOnce = 16;

[[noreturn]] void report_stack_overflow(const Fiber& f) {
  write_overflow_message(f, "the stack canary was overwritten");
  std::abort();
}

}  // namespace

// The body every fiber starts in. It never returns: exit_current() switches away for good.
void fiber_entry(void* arg) {
  auto* f = static_cast<Fiber*>(arg);
  san::after_switch(f->san);
  f->worker->complete_switch();
  f->worker->leave_scheduler();
  TaskCore* core = f->task;
  if (f->sched->shutting_down()) {
    core->fail(std::make_exception_ptr(ForcedUnwind{}));
  } else {
    core->run();
  }
  // Nothing below switches, so the worker stays the same until exit_current().
  Worker* const w = Worker::current();
  // Scheduler code from here on: the monitor must not take this worker's queues while the
  // core is being finished (it reads the running task's record).
  w->enter_scheduler();
  if (core->error_ptr()) [[unlikely]]
    note_task_failure(*core);
  // Out of the registry before the joiner wakes: a join followed by a leak check must not
  // see this task.
  if (trace::on()) [[unlikely]]
    trace::record(trace::Event::exit, core);
  core->fiber.store(nullptr, std::memory_order_relaxed);  // relaxed: diagnostics only
  if (f->sched->registry().finish(core, w->index())) core->release();
  w->exit_current();
}

// Not inlined, and opaque to the optimiser: a fiber may resume on another thread, so the
// address of the thread-local must be recomputed after every switch, never cached.
__attribute__((noinline)) Worker* Worker::current() noexcept {
  Worker* w = tl_worker;
  asm volatile("" : "+r"(w));
  return w;
}

// Out of line, like Worker::current(), and for the same reason; reads the thread-local
// itself rather than calling it (one call per Waiter instead of two).
Fiber* current_fiber() noexcept {
  Worker* w = tl_worker;
  asm volatile("" : "+r"(w));
  return w != nullptr ? w->current_fiber() : nullptr;
}

Worker::Worker(Scheduler& s, std::size_t i, bool spare)
    : sched_(s),
      index_(i),
      is_spare_(spare),
      rng_(static_cast<std::uint32_t>(i) * 2654435761u + 0x9e3779b9u) {}

void Worker::prepare() {
  seen_.assign(sched_.all_workers().size(), Sightings{});
  solo_ = sched_.worker_count() == 1 && !is_spare_;
  runnext.set_mode(solo_                       ? RunnextSlot::Mode::solo
                   : process_fence_available() ? RunnextSlot::Mode::plain
                                               : RunnextSlot::Mode::exchange);
}

void Worker::start() {
  thread_ = std::thread([this] { loop(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

std::uint32_t Worker::next_random() noexcept {
  // xorshift32: victim choice needs speed and spread, not quality.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 17;
  rng_ ^= rng_ << 5;
  return rng_;
}

void Worker::loop() {
  native_thread_ = pthread_self();
  tid_ = static_cast<pid_t>(::gettid());
  AltSignalStack alt_stack;
  CoarseClockHold awake;  // parks stamp coarse_stamp(): keep it fresh while this thread is up
  tl_worker = this;
  // As the only worker, it runs every task of the runtime: structures made here may bias
  // themselves to it (solo_worker.hpp).
  if (solo_ && process_fence_available()) t_solo_worker_tag = this;
  san_ = san::for_current_thread();
  trace::name_thread(sched_.id(), index_);
  for (;;) {
    // relaxed: a request; the spare's own queues are what it hands back, and the monitor
    // reads nothing the spare writes before the flag.
    if (is_spare_ && retire.load(std::memory_order_relaxed)) [[unlikely]] {
      hand_back_queues();
      if (!spare_wait()) break;
      continue;
    }
    if (Fiber* f = find_work()) {
      if (spinning_) stop_spinning();
      run(f);
      continue;
    }
    if (sched_.stopping()) break;
    idle();
  }
  if (is_spare_) hand_back_queues();
  // Free the private stack cache into the shared pool, which teardown unmaps.
  while (free_fibers != nullptr) {
    Fiber* f = free_fibers;
    free_fibers = f->next;
    sched_.release_fiber(nullptr, f);
  }
  t_solo_worker_tag = nullptr;
  tl_worker = nullptr;
}

void Worker::run_simulated(const std::function<bool()>& stop) {
  Worker* const outer = tl_worker;
  tl_worker = this;
  CoarseClockHold awake;  // as in loop()
  san_ = san::for_current_thread();
  struct Restore {
    Worker* w;
    ~Restore() { tl_worker = w; }
  } restore{outer};
  while (!stop()) {
    Fiber* f = find_work();
    if (f == nullptr) break;
    run(f);
  }
}

void Worker::run(Fiber* item) {
  Fiber* f = item;
  if (is_unstarted(item)) {
    f = sched_.start_fiber(this, unstarted_task(item));
    if (f == nullptr) return;  // no stack: the task failed with the error instead
  }
  current_fiber_ = f;
  // relaxed: only this worker looks at a running fiber's state until it switches back.
  f->run_state.store(Fiber::kRunning, std::memory_order_relaxed);
  if (trace::on()) [[unlikely]]
    trace::record(trace::Event::run, f->task);
  san::before_switch(san_, f->san, false);
  f->worker = this;
  context_switch(sched_ctx_, f->ctx);
  san::after_switch(san_);
  current_fiber_ = nullptr;
  complete_switch();
}

void Worker::complete_switch() {
  Fiber* f = action_fiber_;
  const Action a = action_;
  action_ = Action::none;
  action_fiber_ = nullptr;
  switch (a) {
    case Action::yield:
      f->run_state.store(Fiber::kRunnable, std::memory_order_relaxed);  // relaxed: owner-only
      if (sim != nullptr) {
        sim->on_yield(f);
        sim->make_ready(f);
        break;
      }
      push_yield(f);
      break;
    case Action::park: {
      Waiter& w = *action_waiter_;
      action_waiter_ = nullptr;
      if (sim != nullptr) sim->on_park(f);
      // A waiter with a single waker (every channel wait: its waker first wins the wait's
      // own claim) may be claimed without a CAS (Scheduler::claim_parked_exclusive).
      const std::uint32_t parked = w.single_waker_ ? Waiter::kParkedExclusive : Waiter::kParked;
      if (SpinLock* lock = action_lock_) {
        action_lock_ = nullptr;
        // Parked under the lock every waker needs: nobody can have woken the waiter, and
        // nobody can see it until the unlock. The waiter first: once the fiber reads
        // kParked, teardown may claim and resume it, and its stack (the waiter) is its own
        // again. relaxed: both stores are published by the unlock's release, which the
        // waker's lock acquires; teardown's scan pairs with the release store as below.
        w.state_.store(parked, std::memory_order_relaxed);
        // release: as below, for teardown and scans that read it without the lock.
        f->run_state.store(Fiber::kParked, std::memory_order_release);
        lock->unlock();
        break;
      }
      // The fiber is off its stack now, so it is safe to let an unparker resume it. Publish
      // kParked first: an unparker that sees the waiter parked must find the fiber parked.
      // release: ordered before the CAS below, whose release the unparker's exchange
      // acquires; a scan's acquire load sees the wait fields written before it. (Teardown,
      // the other reader, rescans until every task is gone, so it needs no stronger order.)
      f->run_state.store(Fiber::kParked, std::memory_order_release);
      std::uint32_t expected = Waiter::kIdle;
      // acq_rel: release pairs with unpark()'s exchange (it then sees kParked and the
      // fiber's saved context); acquire pairs with an earlier unpark's release.
      if (!w.state_.compare_exchange_strong(expected, parked, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
        // Woken before it finished parking: resume it next, unless teardown claimed it.
        if (Scheduler::claim_parked(f)) push_runnext(f);
      }
      break;
    }
    case Action::exit:
      if (sim != nullptr) sim->on_exit(f);
      sched_.release_fiber(this, f);
      Scheduler::task_finished(*this);
      break;
    case Action::none:
      break;
  }
  // Due timers, whatever the load: the monitor raises kTimersBit when one is due. Here, not
  // before the switch: a parking fiber holds its channel's lock until just above, and a
  // timer may close that channel. relaxed: a request; run_due() takes the heap's lock.
  if ((handoff.load(std::memory_order_relaxed) & kTimersBit) != 0) [[unlikely]]
    run_flagged_timers();
}

void Worker::run_flagged_timers() {
  handoff.fetch_and(~kTimersBit, std::memory_order_relaxed);  // relaxed: as above
  sched_.timers().run_due(Clock::now(), TimerHeap::Order::latest_first);
}

void Worker::trace_switch_out(Fiber* f, Action a) noexcept {
  switch (a) {
    case Action::park:
      // relaxed: written by this fiber just before it parks.
      trace::record(trace::Event::park, f->task,
                    static_cast<std::uint32_t>(f->wait_kind.load(std::memory_order_relaxed)));
      break;
    case Action::yield:
      trace::record(trace::Event::yield, f->task);
      break;
    case Action::exit:  // recorded by fiber_entry while the task still exists
    case Action::none:
      break;
  }
}

// Inlined into its three callers: park_current() (every channel wait) must not pay a call.
[[gnu::always_inline]] inline void Worker::switch_out(Fiber* f, Action a, bool exits) {
  if (!exits) enter_scheduler();  // an exiting fiber entered in fiber_entry()
  if (pending_ != nullptr) flush_pending();
  if (!f->canary_intact()) report_stack_overflow(*f);
  if (trace::on()) [[unlikely]]
    trace_switch_out(f, a);
  action_ = a;
  action_fiber_ = f;
  // Hand the worker straight to the next local fiber when there is one: one switch instead
  // of two. Every kGlobalPollInterval-th switch goes through the scheduler loop instead, which
  // also runs due timers, polls the injection queue and steals.
  Fiber* next = nullptr;
  if (sim == nullptr && ++tick_ % kGlobalPollInterval != 0) [[likely]] {
    // The usual next fiber, the one a message just woke, without find_local()'s call
    // (relaxed peek: as there).
    if (runnext_streak_ < kRunnextStreakLimit && runnext.occupied()) {
      next = take_runnext();
      if (next != nullptr) ++runnext_streak_;
    }
    if (next == nullptr) next = find_local(false);
    if (next != nullptr && is_unstarted(next))
      next = sched_.start_fiber(this, unstarted_task(next));
  }
  if (next != nullptr) {
    current_fiber_ = next;
    // relaxed: as in run().
    next->run_state.store(Fiber::kRunning, std::memory_order_relaxed);
    if (trace::on()) [[unlikely]]
      trace::record(trace::Event::run, next->task);
    san::before_switch(f->san, next->san, exits);
    next->worker = this;
    context_switch(f->ctx, next->ctx);
  } else {
    san::before_switch(f->san, san_, exits);
    context_switch(f->ctx, sched_ctx_);
  }
  // Resumed, possibly by another worker: `this` is stale from here on.
  san::after_switch(f->san);
  f->worker->complete_switch();
  f->worker->leave_scheduler();
}

void Worker::park_current(Waiter& w, SpinLock* release) {
  // The coarse clock, not stamp_now(): a dump may overstate the wait by about a millisecond
  // (coarse_clock.hpp says how much at most). relaxed: diagnostics, ordered for readers by
  // the release store of kParked after the switch, like describe_park()'s stores.
  if constexpr (kTrackTasks)
    current_fiber_->parked_at.store(park_clock_.stamp(), std::memory_order_relaxed);
  action_waiter_ = &w;
  action_lock_ = release;
  switch_out(current_fiber_, Action::park, false);
}

void Worker::yield_current() { switch_out(current_fiber_, Action::yield, false); }

void Worker::exit_current() {
  switch_out(current_fiber_, Action::exit, true);
  std::fputs("spindle: internal error: a finished fiber was resumed\n", stderr);
  std::abort();
}

bool Worker::push_local(Fiber* f) {
  if (sim != nullptr) {
    sim->make_ready(f);
    return true;
  }
  const std::size_t before = deque.push(f);
  // Worth a notify_work() (a seq_cst fence and two loads of lines the other workers write)
  // when the deque was empty, or drained by thieves since the owner last looked (push()
  // notices within 8 pushes): that is when a thief may be missing. While it stays
  // non-empty, the thief woken for its first task is still awake (a worker sleeps only
  // after seeing every deque empty), so further spawns need not look; one in 64 still
  // does, which bounds the parallelism lost if a wake-up raced with a thief falling asleep.
  return before == 0 || before % 64 == 0;
}

void Worker::push_runnext(Fiber* f) {
  if (sim != nullptr) {
    sim->make_ready(f);
    return;
  }
  if (solo_) {
    // No thief touches a solo slot, but the monitor may take it, under the hand-off
    // handshake, while this worker is stuck in a task: so a task's own code never writes it.
    // A wake-up from a task's code waits in pending_ until that task switches
    // (flush_pending()); the task it displaces goes to the deque, which is safe to steal.
    // relaxed: only this thread writes activity.
    if ((activity.load(std::memory_order_relaxed) & 1) == 0) {
      Fiber* old = pending_;
      pending_ = f;
      if (old != nullptr) deque.push(old);
      return;
    }
    if (Fiber* old = runnext.push_solo(f)) deque.push(old);
    return;
  }
  // relaxed: only this thread writes the count; thieves use it as a hint, not to read data.
  runnext_gen.store(runnext_gen.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (Fiber* old = runnext.push(f)) deque.push(old);
}

Fiber* Worker::take_runnext() noexcept { return runnext.take(); }

void Worker::flush_pending() noexcept {
  Fiber* f = pending_;
  pending_ = nullptr;
  if (Fiber* old = runnext.push_solo(f)) deque.push(old);
}

void Worker::push_yield(Fiber* f) noexcept {
  f->next = nullptr;
  if (yield_tail_ != nullptr) {
    yield_tail_->next = f;
  } else {
    yield_head_ = f;
    // relaxed: a hint for the monitor, which takes the FIFO only under the hand-off
    // handshake (runtime/monitor.hpp); it only saves the monitor that handshake when false.
    yield_waiting_.store(true, std::memory_order_relaxed);
  }
  yield_tail_ = f;
}

Fiber* Worker::pop_yield() noexcept {
  Fiber* f = yield_head_;
  if (f == nullptr) return nullptr;
  yield_head_ = f->next;
  if (yield_head_ == nullptr) {
    yield_tail_ = nullptr;
    yield_waiting_.store(false, std::memory_order_relaxed);  // relaxed: as in push_yield()
  }
  return f;
}

Fiber* Worker::find_global() {
  // Wake-ups first, a batch at a time: a burst of timers the monitor fired while every
  // worker was busy drains in one fairness turn instead of one task per turn, and none of
  // them waits behind the spawns and hand-offs in the injection queue. The rest of the batch
  // goes onto the deque latest first, so the owner pops it in the order it came.
  Fiber* batch[kWakeupBatch];
  const std::size_t n = sched_.wakeups().try_dequeue_bulk(batch, kWakeupBatch);
  if (n > 0) {
    for (std::size_t i = n - 1; i > 0; --i) {
      san::consume(batch[i]);
      deque.push(batch[i]);
    }
    if (n > 1) sched_.notify_work(this);
    san::consume(batch[0]);
    return batch[0];
  }
  Fiber* f = nullptr;
  if (sched_.injection().try_dequeue(f)) {
    san::consume(f);
    return f;
  }
  return nullptr;
}

Fiber* Worker::find_local(bool poll_global) {
  // A switch that came through the scheduler loop for fairness (switch_out()) left tick_ at
  // a multiple of the interval: that round polls the injection queue too.
  if (poll_global && (tick_ % kGlobalPollInterval == 0 || ++tick_ % kGlobalPollInterval == 0)) {
    ++tick_;
    // Due timers too (also without the monitor's request): the coarse clock is a load.
    if (sched_.timers().next_deadline_ns() <= coarse_now_ns()) {
      sched_.timers().run_due(Clock::now(), TimerHeap::Order::latest_first);
    }
    // Fairness: neither outside spawns nor yielded tasks wait behind a busy local queue.
    if (Fiber* f = find_global()) return f;
    if (Fiber* f = pop_yield()) return f;
  }
  // relaxed peek before taking (an exchange, where thieves are about and the handshake is
  // not offered): the slot is usually empty, and thieves only ever clear it.
  const bool has_next = runnext.occupied();
  if (has_next && runnext_streak_ < kRunnextStreakLimit) {
    if (Fiber* f = take_runnext()) {
      ++runnext_streak_;
      return f;
    }
  }
  runnext_streak_ = 0;
  if (Fiber* f = deque.pop()) return f;
  if (has_next) {
    if (Fiber* f = take_runnext()) return f;
  }
  if (Fiber* f = pop_yield()) return f;
  return poll_global ? find_global() : nullptr;
}

bool Worker::waited_long_enough(Sighting& seen, std::uint64_t key,
                                std::chrono::nanoseconds patience) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  if (seen.key != key) {
    seen = {key, now};
  } else if (now - seen.since_ns >= patience.count()) {
    seen.key = kNotSeen;
    return true;
  }
  work_waiting_ = true;
  return false;
}

Fiber* Worker::steal_from(Worker& victim, bool look_at_runnext) {
  Sightings& seen = seen_[victim.index_];
  const std::size_t available = victim.deque.size_hint();
  // A single task behind a busy owner is, as often as not, the partner of the task running
  // there (woken a moment ago, about to run when it parks): taking it splits the pair across
  // workers and costs a cross-thread wake-up per message from then on. Take it only once the
  // owner has left it there for kStealPatience (top_hint() moves whenever the oldest task
  // leaves). A few woken tasks are, likewise, a group passing messages among themselves and
  // the task running there: they wait kWokenPatience. Fresh spawns (new parallel work) and
  // a backlog of kShareAtOnce or more are shared at once.
  if (available == 0) {
    seen.deque.key = kNotSeen;
  } else if (available >= kShareAtOnce ||
             (available > 1 && is_unstarted(victim.deque.peek_top())) ||
             waited_long_enough(seen.deque, victim.deque.top_hint(),
                                available > 1 ? kWokenPatience : kStealPatience)) {
    if (Fiber* first = victim.deque.steal()) {
      if (trace::on()) [[unlikely]] {
        trace::record(trace::Event::steal,
                      is_unstarted(first) ? unstarted_task(first) : first->task,
                      static_cast<std::uint32_t>(victim.index_));
      }
      // Steal half: one trip across the cache-line boundary buys work for a while.
      for (std::size_t k = 1; k < available / 2; ++k) {
        Fiber* f = victim.deque.steal();
        if (f == nullptr) break;
        deque.push(f);
      }
      return first;
    }
  }
  if (!look_at_runnext) return nullptr;
  // relaxed peek: most of the time the slot is empty and a locked exchange would bounce its
  // cache line for nothing.
  if (!victim.runnext.occupied()) {
    seen.runnext.key = kNotSeen;
    return nullptr;
  }
  // The same reasoning, for runnext (Go's thieves wait 3 us for it too): runnext_gen moves
  // with every push into the slot.
  // relaxed: a hint; the exchange below is what hands the fiber over.
  if (!waited_long_enough(seen.runnext, victim.runnext_gen.load(std::memory_order_relaxed),
                          kStealPatience)) {
    return nullptr;
  }
  return victim.runnext.steal();
}

Fiber* Worker::find_work(bool look_at_runnext) {
  if (sim != nullptr) return sim->next();
  if (Fiber* f = find_local(true)) return f;
  TimerHeap& timers = sched_.timers();
  if (timers.next_deadline_ns() != TimerHeap::kNever &&
      timers.run_due(Clock::now(), TimerHeap::Order::latest_first) > 0) {
    if (Fiber* f = find_local(true)) return f;
  }
  // Sockets became ready? (Non-blocking; skipped while a sleeper blocks in epoll_wait.)
  if (Poller* p = sched_.poller_if_any(); p != nullptr && p->poll_now() > 0) {
    if (Fiber* f = find_local(true)) return f;
  }
  auto& all = sched_.all_workers();
  const std::size_t n = sched_.victim_count();
  if (n > 1) {
    const std::size_t start = next_random() % n;
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t i = 0; i < n; ++i) {
        Worker& victim = *all[(start + i) % n];
        if (&victim == this) continue;
        // A solo worker's slot takes plain accesses: only the monitor's handshake reaches it.
        const bool slot =
            look_at_runnext && pass == 1 && victim.runnext.mode() != RunnextSlot::Mode::solo;
        if (Fiber* f = steal_from(victim, slot)) return f;
      }
    }
  }
  return nullptr;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
