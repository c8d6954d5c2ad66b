// SPDX-License-Identifier: Apache-2.0
#include "spindle/task.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "runtime/scheduler.hpp"
#include "runtime/worker.hpp"
#include "spindle/detail/task_core.hpp"
#include "spindle/detail/waiter.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

void TaskCore::wait() {
  if (done()) return;
  Waiter w(WaitKind::join, this);
  std::uintptr_t expected = kRunning;
  // acq_rel: release publishes the waiter to finish(); acquire (also on failure) pairs with
  // finish()'s release of kDone so the result is visible.
  if (!join_word_.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(&w),
                                          std::memory_order_acq_rel, std::memory_order_acquire)) {
    return;  // finished meanwhile
  }
  try {
    w.park();
  } catch (...) {
    withdraw(w);  // unwinding
    throw;
  }
}

bool TaskCore::withdraw(Waiter& w) noexcept {
  std::uintptr_t mine = reinterpret_cast<std::uintptr_t>(&w);
  // acq_rel / acquire: on failure, pairs with finish()'s release of kDone.
  if (join_word_.compare_exchange_strong(mine, kRunning, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
    return true;
  }
  // finish() already holds the waiter and is about to wake it: do not leave (and free it)
  // before it did.
  while (!w.notified()) std::this_thread::yield();
  return false;
}

bool TaskCore::wait_until(TimePoint deadline) {
  if (done()) return true;
  // No object: a timed join can end without this task finishing, so the partial-deadlock
  // proof must not follow it.
  Waiter w(WaitKind::join, nullptr);
  std::uintptr_t expected = kRunning;
  // acq_rel / acquire: as in wait().
  if (!join_word_.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(&w),
                                          std::memory_order_acq_rel, std::memory_order_acquire)) {
    return true;
  }
  bool woken;
  try {
    woken = w.park_until(deadline);
  } catch (...) {
    withdraw(w);  // unwinding
    throw;
  }
  // Timed out: finished after all if finish() got hold of the waiter first.
  return woken || !withdraw(w);
}

void block_on_wait(Scheduler* sched, TaskCore* core) {
  const auto window = sched->options().deadlock_after;
  if (current_fiber() != nullptr || window.count() == 0) {
    core->wait();
    return;
  }
  const Clock::duration poll = std::clamp<Clock::duration>(window / 4, std::chrono::milliseconds(1),
                                                           std::chrono::milliseconds(50));
  bool quiet = false;
  TimePoint quiet_since{};
  while (!core->wait_until(Clock::now() + poll)) {
    if (!sched->quiet_now()) {
      quiet = false;
      continue;
    }
    const TimePoint now = Clock::now();
    if (!quiet) {
      quiet = true;
      quiet_since = now;
    } else if (now - quiet_since >= window) {
      const FrameRequest frames;
      throw Deadlock(LeakReport(sched->registry().snapshot(nullptr, false, &frames)), window);
    }
  }
}

void TaskCore::finish() noexcept {
  // seq_cst: release publishes the result to the joiner; acquire pairs with its
  // registration so the Waiter is fully constructed; and it is the finisher's store in the
  // never-joined handshake (runtime/task_registry.hpp).
  std::uintptr_t prev = join_word_.exchange(kDone, std::memory_order_seq_cst);
  if (prev != kRunning && prev != kDone) reinterpret_cast<Waiter*>(prev)->unpark();
}

Scheduler* current_scheduler() noexcept {
  Worker* w = Worker::current();
  return w != nullptr ? &w->scheduler() : nullptr;
}

void spawn_core(Scheduler* sched, TaskCore* core) {
  if (sched == nullptr) {
    if (current_fiber() == nullptr) {
      throw std::logic_error(
          "spindle::spawn called outside any task; use Runtime::spawn from plain threads");
    }
    sched = current_scheduler();
  }
  sched->spawn(core);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

bool in_task() noexcept { return detail::current_fiber() != nullptr; }

void set_task_name(std::string_view name) {
  detail::Fiber* f = detail::current_fiber();
  if (f == nullptr) throw std::logic_error("spindle::set_task_name called outside any task");
  f->sched->registry().set_name(f->task, name, detail::Worker::current()->index());
}

std::uint64_t current_task_id() noexcept {
  detail::Fiber* f = detail::current_fiber();
  return f != nullptr ? f->task->id : 0;
}

void yield() {
  detail::Worker* w = detail::Worker::current();
  if (w == nullptr || w->current_fiber() == nullptr) {
    std::this_thread::yield();
    return;
  }
  if (w->scheduler().shutting_down() && std::uncaught_exceptions() == 0)
    throw detail::ForcedUnwind{};
  w->yield_current();
}

void sleep_until(TimePoint deadline) {
  if (detail::current_fiber() == nullptr) {
    auto d = deadline - Clock::now();
    if (d > d.zero()) {
      detail::OutsideCall in_call;  // a sleeping thread may still wake tasks: no deadlock
      std::this_thread::sleep_for(d);
    }
    return;
  }
  while (Clock::now() < deadline) {
    detail::Waiter w(detail::WaitKind::sleep);
    if (!w.park_until(deadline)) continue;  // timed out: loop re-checks the clock
  }
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
