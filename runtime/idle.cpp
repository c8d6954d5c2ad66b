// SPDX-License-Identifier: Apache-2.0
// The idle/wake protocol: how a worker with nothing to run spins, then sleeps, and how work
// that appears wakes exactly as many workers as it needs.
//
// States. A worker is running (it has a task), spinning (counted in Scheduler::spinning_,
// looking for work: the local queues, the injection queue, other workers' deques), or
// sleeping (in the idle set idle_, counted in nidle_, blocked on its wake_flag futex, or in
// epoll_wait as the poller's owner). At most half the workers spin at once. A woken worker
// starts as a spinner: the waker moves it out of idle_ and counts it in spinning_.
//
// The rule that keeps work from being stranded: whoever publishes work (a spawn, a wake-up,
// a timer, the netpoller) wakes a sleeper unless somebody spins; a spinner that gives up
// re-checks every queue after it stops counting; a sleeper re-checks after it joins idle_.
// Each pair below is a Dekker handshake: both sides write, fence (seq_cst), then read what
// the other wrote, so at least one of them sees the other.
//
//   publisher (notify_work)                   | sleeper / spinner (Worker::idle, sleep)
//   ------------------------------------------+---------------------------------------------
//   push the work (deque, runnext, injection) | spinning_ -= 1 (end of a spin episode)
//   fence                                     | fence
//   read spinning_, nidle_ -> wake_one()      | find_work() once more (or go round again)
//   ------------------------------------------+---------------------------------------------
//   as above                                  | push_idle: nidle_ += 1, under idle_mu_
//                                             | fence; find_work() once more, then sleep
//   ------------------------------------------+---------------------------------------------
//   wake_one: wake_flag = 1 (release), fence, | Poller::idle_wait: publish itself as the
//   read the poller's owner: kick() it, or    | poller's owner, fence, read wake_flag
//   futex_wake the flag                       | (acquire), then epoll_wait / futex_wait
//   ------------------------------------------+---------------------------------------------
//   timer added (heap under its lock), fence, | sleep: nidle_ += 1 (push_idle), fence, then
//   read watch_deadline_, nidle_ -> wake_one  | read the heap's next deadline and publish it
//                                             | in watch_deadline_ (seq_cst CAS)
//   ------------------------------------------+---------------------------------------------
//   Worker::sleep returns: it left idle_ (its | Monitor::sleep_while_idle: sleeping_ = true,
//   waker, or remove_idle, seq_cst), then     | then reads nidle_ and spinning_
//   monitor_wake() reads the monitor's        | (runtime_idle()) before futex_wait
//   sleeping_ flag                            |
//
// Runnext in plain mode (one-worker or process-fenced runtimes) takes plain stores: a
// producer's store into it and its load of spinning_ have no fence between them, so a
// spinner about to sleep issues a process fence (membarrier) first, then looks once more.
// The last spinner to find work wakes a replacement (stop_spinning), so a burst keeps
// pulling workers in. notify_work from the only worker of a runtime is free: nobody to wake.
#include <algorithm>
#include <atomic>
#include <mutex>

#include "runtime/coarse_clock.hpp"
#include "runtime/futex.hpp"
#include "runtime/poller.hpp"
#include "runtime/process_fence.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/worker.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

// A spin episode: kQuickSpinRounds fast looks, then the rest a few microseconds apart.
// Longer episodes do not speed up message passing on two workers, but every sporadic
// wake-up of an idle runtime (a ticker, say) would pay for the whole episode in CPU time.
constexpr int kSpinRounds = 16;
// A spinner's first rounds follow each other quickly (pausing 1, 2, 4, ... times), for work
// that is about to appear; the rest pause kSlowSpinPauses times (a few microseconds) between
// looks.
constexpr int kQuickSpinRounds = 8;
constexpr int kSlowSpinPauses = 256;
// Episodes in a row that ended with only tasks left to their owner in sight (a lone task or
// a short queue of woken ones; see Worker::idle) stretch the pause between looks, up to
// kSlowSpinPauses << kMaxLoneShift, about the length of a whole normal episode.
constexpr int kMaxLoneShift = 3;

}  // namespace

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

void Worker::stop_spinning() {
  spinning_ = false;
  // The last spinner to find work wakes a replacement, so a burst of work keeps pulling
  // workers in instead of being drained by one.
  if (sched_.spinning().fetch_sub(1, std::memory_order_seq_cst) == 1) sched_.notify_work();
}

void Worker::idle() {
  auto& spinning = sched_.spinning();
  const std::size_t n = sched_.worker_count();
  // At most half the workers spin: enough to pick up a burst quickly, without burning every
  // core on an idle runtime.
  if (!spinning_ && 2 * spinning.load(std::memory_order_seq_cst) < n) {
    spinning.fetch_add(1, std::memory_order_seq_cst);
    spinning_ = true;
  }
  if (spinning_) {
    // Every look at another worker pulls cache lines that its owner writes on each push and
    // pop (and a pop's fence then waits for the line to come back): a spinner polling flat
    // out slows the busy worker it polls. Hence the slow rounds, and runnext (exchanged
    // twice per message passed) only looked at in them.
    // After an episode that saw only tasks left to their owner (lone tasks or a few woken
    // ones: partners about to run beside their wakers, as in a pipeline or a ping-pong), the
    // next one skips the quick rounds and looks less often: each look pulls lines the busy
    // worker writes per message, and restarting with quick rounds at every episode would
    // keep slowing that worker down. A task that stays put is still taken, a few looks later.
    const int first = lone_streak_ > 0 ? kQuickSpinRounds : 0;
    const int slow_pauses = kSlowSpinPauses << lone_streak_;
    for (int i = first; i < kSpinRounds; ++i) {
      const bool slow = i >= kQuickSpinRounds;
      if (Fiber* f = find_work(slow)) {
        lone_streak_ = 0;
        stop_spinning();
        run(f);
        return;
      }
      const int pauses = slow ? slow_pauses : 1 << i;
      for (int k = 0; k < pauses; ++k) cpu_relax();
    }
    spinning_ = false;
    spinning.fetch_sub(1, std::memory_order_seq_cst);
    // Re-check after no longer counting as a spinner: a producer that saw us spinning did
    // not wake anyone, so its work must be found here. A task left in a busy worker's
    // runnext for now counts as work too: go round again rather than sleep past it. A
    // spinner that slept instead would be woken again at once by the pair's next hand-off
    // (the producer saw no spinner), a cross-thread wake-up per message.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    for (bool fenced = runnext.mode() != RunnextSlot::Mode::plain;; fenced = true) {
      work_waiting_ = false;
      if (Fiber* f = find_work(true)) {
        lone_streak_ = 0;
        run(f);
        return;
      }
      if (work_waiting_) {
        lone_streak_ = std::min(lone_streak_ + 1, kMaxLoneShift);  // capped: no overflow
        return;
      }
      if (fenced) break;
      // About to sleep. Where runnext takes plain stores, a producer's store into it and
      // its load of the spinner count have no fence between them: a process fence orders
      // them for us, then one more look. Only here, before a sleep: a spinner that goes
      // round again needs none, and fencing at the end of every spin episode would send the
      // busy worker an interrupt each time.
      process_fence();
    }
    lone_streak_ = 0;
    sleep(true);
    return;
  }
  sleep(false);
}

void Worker::sleep(bool spun) {
  // Nothing to do: unlink the tasks of this worker's registry shard that finished elsewhere
  // (their memory is held until then).
  sched_.registry().sweep(index_);
  sched_.push_idle(this);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Before sleeping, nothing runnable may be left behind. A task waiting in a busy worker's
  // runnext keeps a worker that spun awake; one that was not allowed to spin leaves it to
  // the spinners (there were enough of them when it decided).
  work_waiting_ = false;
  Fiber* found = find_work(true);
  if (found != nullptr || sched_.stopping() || (spun && work_waiting_)) {
    if (!sched_.remove_idle(this)) spinning_ = true;  // a waker took us and counted us
    if (found != nullptr) {
      if (spinning_) stop_spinning();
      run(found);
    }
    return;
  }
  // Plan the wake-up: sleep until the earliest timer unless another sleeper already will.
  const std::int64_t next = sched_.timers().next_deadline_ns();
  auto& watch = sched_.watch_deadline();
  bool watching = false;
  if (next != TimerHeap::kNever) {
    std::int64_t cur = watch.load(std::memory_order_seq_cst);
    while (next < cur) {
      if (watch.compare_exchange_weak(cur, next, std::memory_order_seq_cst)) {
        watching = true;
        break;
      }
    }
  }
  const TimePoint deadline{Clock::duration(next)};
  CoarseClockHold::release();  // asleep: the coarse clock may stop (taken back below)
  for (;;) {
    // acquire: pairs with wake_one()'s release store.
    if (wake_flag.load(std::memory_order_acquire) != 0) break;
    if (watching && Clock::now() >= deadline) break;
    // One sleeper waits in epoll_wait instead (same timeout); it leaves once it woke a task.
    Poller* p = sched_.poller_if_any();
    const auto polled = p != nullptr ? p->idle_wait(*this, watching ? &deadline : nullptr)
                                     : Poller::IdleResult::not_polled;
    if (polled == Poller::IdleResult::woke) break;
    if (polled == Poller::IdleResult::not_polled) {
      futex_wait(wake_flag, 0, watching ? &deadline : nullptr);
    }
  }
  CoarseClockHold::acquire();
  sched_.monitor_wake();  // the runtime is busy again: the monitor watches it
  if (watching) {
    std::int64_t mine = next;
    watch.compare_exchange_strong(mine, TimerHeap::kNever, std::memory_order_seq_cst);
  }
  // acquire: as above.
  if (wake_flag.load(std::memory_order_acquire) != 0) {
    spinning_ = true;  // the waker removed us from the idle set and counted us as spinning
  } else if (!sched_.remove_idle(this)) {
    spinning_ = true;  // timed out, but a waker took us meanwhile
  }
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
