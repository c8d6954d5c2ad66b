// SPDX-License-Identifier: Apache-2.0
#include "runtime/monitor.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <system_error>
#include <vector>

#include "runtime/coarse_clock.hpp"
#include "runtime/futex.hpp"
#include "runtime/process_fence.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/thread_backtrace.hpp"
#include "runtime/trace.hpp"
#include "runtime/worker.hpp"
#include "spindle/detail/task_core.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// A task that has held its worker this long without returning to the scheduler makes the
// worker "stuck": its queued tasks move away and a spare may stand in for it.
constexpr std::int64_t kStuckAfterNs = 10'000'000;
// Looks at the runtime: from 20 us after it acted, doubling while nothing needs doing, up to
// 10 ms; at most 1 ms apart while a task may be holding its worker or sockets have waiters,
// so a ready socket or a stuck worker waits about a millisecond for it. Timers are served
// at their deadlines (the monitor's wait ends there).
constexpr std::int64_t kMinDelayNs = 20'000;
constexpr std::int64_t kBusyDelayNs = 1'000'000;
constexpr std::int64_t kMaxDelayNs = 10'000'000;
// A timer this overdue was missed by the workers (all inside long tasks): the monitor fires it.
constexpr std::int64_t kTimerGraceNs = 500'000;
// The shortest wait for a timer while workers are busy: dense timers cost the monitor at most
// one look per this interval.
constexpr std::int64_t kMinTimerWaitNs = 50'000;
// The netpoller is polled this often while workers are busy and sockets have waiters.
constexpr std::int64_t kPollEveryNs = 1'000'000;
// How long the runtime must stay idle before the monitor sleeps too: a runtime woken every
// few milliseconds then costs no futex wake-up of the monitor per wake-up of a worker.
constexpr std::int64_t kIdleLingerNs = 20'000'000;
// Stall reports: at most one per this interval (the rest are counted and summarised).
constexpr std::int64_t kReportEveryNs = 1'000'000'000;

// CPU time used so far by thread `t`, or -1 if it cannot be read.
std::int64_t thread_cpu_ns(pthread_t t) noexcept {
  clockid_t clock;
  timespec ts{};
  if (pthread_getcpuclockid(t, &clock) != 0 || clock_gettime(clock, &ts) != 0) return -1;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Whether thread `tid` of this process sleeps in the kernel (a blocking system call, a
// page fault being served), from its state in /proc: 'R' is running or waiting for a CPU,
// whatever the load. A thread whose state cannot be read counts as not sleeping.
bool thread_sleeps(pid_t tid) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  // "tid (name) S ...": the name may hold spaces and parentheses, so the state follows the
  // last ')'.
  const char* close_paren = std::strrchr(buf, ')');
  if (close_paren == nullptr || close_paren[1] != ' ') return false;
  const char state = close_paren[2];
  return state == 'S' || state == 'D';
}

std::size_t usable_cpus() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// The hand-off handshake (monitor.hpp): runs `fn` while `w`'s thread is kept inside the task
// it was running when its activity read `seen` (it waits on handoff_mu if it tries to leave);
// false, without running `fn`, when that thread has moved on or the fence is not offered.
template <class Fn>
bool Monitor::with_owner_held(Worker& w, std::uint32_t seen, Fn&& fn) {
  if (!process_fence_available()) return false;
  std::lock_guard lock(w.handoff_mu);
  // relaxed: ordered by the fence below.
  w.handoff.fetch_or(Worker::kHandoffBit, std::memory_order_relaxed);
  process_fence();
  // acquire: pairs with the owner's release stores of activity.
  const bool held = w.activity.load(std::memory_order_acquire) == seen;
  if (held) fn();
  // release: pairs with enter_scheduler()'s acquire load of the flag.
  w.handoff.fetch_and(~Worker::kHandoffBit, std::memory_order_release);
  return held;
}

std::size_t spares_wanted(std::size_t roles, std::size_t free_threads, std::size_t stuck_blocked,
                          std::size_t stuck_computing, std::size_t cpus) noexcept {
  if (free_threads >= roles) return 0;
  const std::size_t want = roles - free_threads;
  const std::size_t for_blocked = std::min(want, stuck_blocked);
  const std::size_t on_cpu = free_threads + for_blocked + stuck_computing;
  const std::size_t cpus_left = cpus > on_cpu ? cpus - on_cpu : 0;
  const std::size_t total = for_blocked + std::min(want - for_blocked, cpus_left);
  return total == 0 && free_threads == 0 ? 1 : total;
}

Monitor::Monitor(Scheduler& sched)
    : sched_(sched),
      stall_after_ns_(sched.options().stall_report.count()),
      seen_(sched.all_workers().size()),
      cpus_(usable_cpus()) {
  thread_ = std::thread([this] { loop(); });
}

Monitor::~Monitor() { stop(); }

void Monitor::stop() {
  stop_.store(true, std::memory_order_seq_cst);
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(epoch_, 1);
  if (thread_.joinable()) thread_.join();
}

// The owner's side of take_queues(): the monitor holds handoff_mu while it works on this
// worker's queues, and lowers the flag before it lets go.
void Worker::wait_for_handoff() noexcept { std::lock_guard lock(handoff_mu); }

void Monitor::wake() noexcept {
  // seq_cst: the Dekker pair with sleep_while_idle(): the waking worker left the idle set
  // (seq_cst) before this load; the monitor raised sleeping_ before its last look at it.
  if (!sleeping_.load(std::memory_order_seq_cst)) return;
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(epoch_, 1);
}

bool Monitor::runtime_idle() const noexcept {
  return sched_.nidle_.load(std::memory_order_seq_cst) >= sched_.expected_idle() &&
         sched_.spinning_.load(std::memory_order_seq_cst) == 0;
}

void Monitor::sleep_while_idle() {
  // seq_cst: see wake().
  const std::uint32_t seen = epoch_.load(std::memory_order_seq_cst);
  sleeping_.store(true, std::memory_order_seq_cst);
  if (runtime_idle() && !stop_.load(std::memory_order_seq_cst)) futex_wait(epoch_, seen);
  sleeping_.store(false, std::memory_order_seq_cst);
}

void Monitor::loop() {
  std::int64_t delay = kMinDelayNs;
  std::int64_t idle_since = -1;  // when the runtime was first seen idle; -1: busy
  while (!stop_.load(std::memory_order_seq_cst)) {
    if (runtime_idle()) {
      const std::int64_t t = now_ns();
      if (idle_since < 0) idle_since = t;
      if (t - idle_since >= kIdleLingerNs) {
        sleep_while_idle();
        idle_since = -1;
        delay = kMinDelayNs;
        continue;
      }
    } else {
      idle_since = -1;
    }
    counters_.looks.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    // The coarse clock serves the workers' fairness-turn timer check; a ticker starved by a
    // loaded machine must not hold those checks back.
    coarse_clock_refresh();
    const std::int64_t now = now_ns();
    bool acted = serve_timers(now);
    acted = serve_poller(now) || acted;
    acted = watch_workers(now) || acted;
    delay = acted ? kMinDelayNs : std::min(delay * 2, kMaxDelayNs);
    const bool busy = !runtime_idle();
    Poller* p = sched_.poller_if_any();
    // Look every millisecond while a task may be holding its worker (one was inside the same
    // task at two looks in a row) or sockets wait; a runtime whose workers keep switching
    // backs off to kMaxDelayNs.
    if (suspect_ || (busy && p != nullptr && p->waiters() > 0)) {
      delay = std::min(delay, kBusyDelayNs);
    }
    // seq_cst: stop and wake() bump it; a bump after this load makes the wait return.
    const std::uint32_t seen = epoch_.load(std::memory_order_seq_cst);
    if (stop_.load(std::memory_order_seq_cst)) break;
    std::int64_t wake_at = now_ns() + delay;
    // While workers are busy, wake for the next timer (at most every kMinTimerWaitNs).
    const std::int64_t next = sched_.timers().next_deadline_ns();
    if (busy && next < wake_at) wake_at = std::max(next, now + kMinTimerWaitNs);
    const TimePoint until{Clock::duration(wake_at)};
    futex_wait(epoch_, seen, &until);
  }
}

bool Monitor::serve_timers(std::int64_t now) {
  TimerHeap& timers = sched_.timers();
  const std::int64_t next = timers.next_deadline_ns();
  if (next > now) return false;
  if (next > now - kTimerGraceNs) {
    // Due: the workers fire it as their current switch lands (Worker::complete_switch()),
    // and the tasks it wakes run next there.
    for (Worker* w : sched_.all_workers()) {
      // relaxed: a request; the worker's run_due() takes the heap's lock.
      if ((w->handoff.load(std::memory_order_relaxed) & Worker::kTimersBit) == 0)
        w->handoff.fetch_or(Worker::kTimersBit, std::memory_order_relaxed);
    }
    return false;
  }
  // Overdue: every worker is inside a long task. Fire it here; what it wakes goes through
  // the queue of outside wake-ups, which workers take before spawns and hand-offs.
  const std::size_t fired = timers.run_due(Clock::now());
  // relaxed: a statistic.
  counters_.timers_fired.fetch_add(fired, std::memory_order_relaxed);
  return fired > 0;
}

bool Monitor::serve_poller(std::int64_t now) {
  Poller* p = sched_.poller_if_any();
  if (p == nullptr || p->waiters() == 0 || now - last_poll_ns_ < kPollEveryNs) return false;
  // Only while workers are busy: idle ones poll for themselves (one of them in epoll_wait).
  if (runtime_idle()) return false;
  last_poll_ns_ = now;
  counters_.polls.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
  return p->poll_now() > 0;
}

bool Monitor::watch_workers(std::int64_t now) {
  auto& all = sched_.all_workers();
  std::size_t stuck = 0;
  std::size_t computing = 0;  // of the stuck ones
  bool acted = false;
  suspect_ = false;
  for (std::size_t i = 0; i < all.size(); ++i) {
    Worker& w = *all[i];
    Seen& s = seen_[i];
    // acquire: pairs with the owner's release stores (Worker::leave_scheduler()).
    const std::uint32_t a = w.activity.load(std::memory_order_acquire);
    if (w.is_spare() && w.spare_state.load(std::memory_order_acquire) != Worker::kSpareActive) {
      s = Seen{a, now};
      continue;
    }
    if (a != s.activity) {
      s = Seen{a, now};
      continue;
    }
    if ((a & 1) != 0) continue;  // in scheduler code (or asleep): not held by a task
    suspect_ = true;
    const std::int64_t held = now - s.since_ns;
    if (stall_after_ns_ > 0 && held >= stall_after_ns_ && !s.reported) {
      s.reported = true;
      counters_.stalls.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
      stall_report(w, a, held);
    }
    const std::int64_t cpu = thread_cpu_ns(w.native_thread_);
    if (held < kStuckAfterNs) {
      s.cpu_ns = cpu;
      s.cpu_at_ns = now;
      continue;
    }
    s.stuck = true;
    ++stuck;
    // Blocked: asleep in the kernel now, and it used less than 1/16 of the time since the
    // last look. Either alone misleads: a computing thread sleeps too, briefly (a page fault
    // waiting for the address-space lock, a contended mutex), and one that waits for a CPU on
    // a loaded machine uses little CPU time but is runnable, not asleep.
    const bool blocked = thread_sleeps(w.tid_) && s.cpu_ns >= 0 && cpu >= 0 && now > s.cpu_at_ns &&
                         (cpu - s.cpu_ns) * 16 < now - s.cpu_at_ns;
    if (!blocked) ++computing;
    s.cpu_ns = cpu;
    s.cpu_at_ns = now;
    if (take_queues(w, a)) acted = true;
  }
  balance_spares(stuck, computing);
  return acted;
}

bool Monitor::take_queues(Worker& w, std::uint32_t seen_activity) {
  std::vector<Fiber*> moved;
  // The deque and a shared runnext slot can be stolen from at any time.
  while (Fiber* f = w.deque.steal()) moved.push_back(f);
  const bool solo_slot = w.runnext.mode() == RunnextSlot::Mode::solo;
  if (!solo_slot) {
    if (Fiber* f = w.runnext.steal()) moved.push_back(f);
  }
  // The yield FIFO and a solo slot need the owner kept out (monitor.hpp); the handshake's
  // process fence interrupts every running thread, so only when they look occupied.
  // relaxed: hints; a task that arrives after the look is taken at the next one.
  const bool look_inside =
      w.yield_waiting_.load(std::memory_order_relaxed) || (solo_slot && w.runnext.occupied());
  if (look_inside) {
    with_owner_held(w, seen_activity, [&] {
      while (Fiber* f = w.pop_yield()) moved.push_back(f);
      if (solo_slot) {
        if (Fiber* f = w.runnext.take()) moved.push_back(f);
      }
      // Tasks the stuck task itself woke since the steals above.
      while (Fiber* f = w.deque.steal()) moved.push_back(f);
    });
  }
  if (moved.empty()) return false;
  counters_.handoffs.fetch_add(1, std::memory_order_relaxed);  // relaxed: statistics
  counters_.tasks_moved.fetch_add(moved.size(), std::memory_order_relaxed);
  for (Fiber* f : moved) sched_.requeue(f);
  return true;
}

void Monitor::balance_spares(std::size_t stuck, std::size_t stuck_computing) {
  const std::size_t roles = sched_.worker_count();
  const std::size_t active = sched_.active_spares();
  // Spares asked to retire that have not yet are as good as gone.
  std::size_t retiring = 0;
  for (auto& sp : sched_.spares_) {
    // relaxed: the monitor's own request, read back.
    if (sp->retire.load(std::memory_order_relaxed)) ++retiring;
  }
  const std::size_t busy = std::min(stuck + retiring, roles + active);
  const std::size_t free_threads = roles + active - busy;
  if (free_threads < roles) {
    // Retiring spares count as stuck, and as blocked: they are on their way out.
    std::size_t want = spares_wanted(roles, free_threads, busy - std::min(busy, stuck_computing),
                                     std::min(busy, stuck_computing), cpus_);
    for (auto& sp : sched_.spares_) {
      if (want == 0) break;
      const Scheduler::SpareStart r = sched_.start_spare(*sp);
      if (r == Scheduler::SpareStart::started) {
        counters_.spares_started.fetch_add(1, std::memory_order_relaxed);  // relaxed: stats
        --want;
      } else if (r == Scheduler::SpareStart::failed) {
        counters_.spare_failures.fetch_add(1, std::memory_order_relaxed);  // relaxed: stats
        break;
      }
    }
  } else if (free_threads > roles) {
    // A stuck thread came back: one spare too many retires (one per look, gently).
    auto& all = sched_.all_workers();
    for (std::size_t i = roles; i < all.size(); ++i) {
      Worker& sp = *all[i];
      if (sp.spare_state.load(std::memory_order_acquire) != Worker::kSpareActive) continue;
      if (seen_[i].stuck || sp.retire.load(std::memory_order_relaxed)) continue;
      sp.retire.store(true, std::memory_order_relaxed);  // relaxed: a request, see loop()
      sched_.wake_worker(sp);
      break;
    }
  }
}

void Monitor::stall_report(Worker& w, std::uint32_t seen_activity, std::int64_t held_ns) {
  // Rate limit: one line per kReportEveryNs; the others are counted in the next line.
  const std::int64_t now = now_ns();
  if (last_report_ns_ != 0 && now - last_report_ns_ < kReportEveryNs) {
    ++reports_suppressed_;
    return;
  }
  std::string who;
  // The owner stays inside its task while its record is read.
  with_owner_held(w, seen_activity, [&] {
    if (w.current_fiber() == nullptr) return;
    const TaskCore* core = w.current_fiber()->task;
    const TaskInfo info = sched_.registry().describe_live(*core);
    std::ostringstream out;
    out << "task " << info.id;
    if (!info.name.empty()) out << " \"" << info.name << '"';
    out << " (spawned at " << info.file << ':' << info.line << ')';
    who = out.str();
    if (trace::on())
      trace::record(trace::Event::stall, core, static_cast<std::uint32_t>(w.index()));
  });
  if (who.empty()) who = "a task";
  const std::string frames = thread_backtrace(w.native_thread_, std::chrono::milliseconds(100));
  last_report_ns_ = now;
  std::ostringstream line;
  line << "spindle: stall: " << who << " has held worker " << w.index() << " for "
       << held_ns / 1'000'000 << " ms without returning to the scheduler";
  if (reports_suppressed_ != 0) {
    line << " (" << reports_suppressed_ << " more stall(s) not reported)";
    reports_suppressed_ = 0;
  }
  line << (frames.empty() ? "; no backtrace (the thread did not answer)\n" : "; backtrace:\n")
       << frames;
  const std::string text = line.str();
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  counters_.stall_reports.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
}

std::string Monitor::diagnostics() const {
  std::ostringstream out;
  // relaxed: statistics.
  out << " monitor_looks=" << counters_.looks.load(std::memory_order_relaxed)
      << " monitor_timers_fired=" << counters_.timers_fired.load(std::memory_order_relaxed)
      << " monitor_polls=" << counters_.polls.load(std::memory_order_relaxed)
      << " handoffs=" << counters_.handoffs.load(std::memory_order_relaxed)
      << " tasks_handed_off=" << counters_.tasks_moved.load(std::memory_order_relaxed)
      << " spares_started=" << counters_.spares_started.load(std::memory_order_relaxed)
      << " spare_failures=" << counters_.spare_failures.load(std::memory_order_relaxed)
      << " stalls=" << counters_.stalls.load(std::memory_order_relaxed)
      << " stall_reports=" << counters_.stall_reports.load(std::memory_order_relaxed);
  return out.str();
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
