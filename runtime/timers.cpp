// SPDX-License-Identifier: Apache-2.0
// timer_add/timer_cancel, and the process-wide timer thread that serves timers armed
// outside any task (a plain thread calling after(), say). That thread sleeps on a futex until
// its earliest deadline, so it costs nothing while no timer is pending.
#include <thread>

#include "runtime/futex.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/timer_heap.hpp"
#include "runtime/worker.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

class TimerThread {
 public:
  TimerThread()
      : heap_([this](std::int64_t) {
          // release: pairs with the loop's acquire load; it then re-reads the heap.
          epoch_.fetch_add(1, std::memory_order_release);
          futex_wake(epoch_, 1);
        }) {
    std::thread([this] { loop(); }).detach();
  }

  TimerHeap& heap() noexcept { return heap_; }

 private:
  [[noreturn]] void loop() {
    for (;;) {
      // acquire: pairs with the release in the callback above.
      std::uint32_t seen = epoch_.load(std::memory_order_acquire);
      heap_.run_due(Clock::now());
      std::int64_t next = heap_.next_deadline_ns();
      if (next == TimerHeap::kNever) {
        futex_wait(epoch_, seen);
      } else {
        TimePoint deadline{Clock::duration(next)};
        futex_wait(epoch_, seen, &deadline);
      }
    }
  }

  TimerHeap heap_;
  std::atomic<std::uint32_t> epoch_{0};
};

TimerHeap& process_timers() {
  // Never destroyed: timers may be armed or cancelled from static destructors.
  static TimerThread* t = new TimerThread;
  return t->heap();
}

}  // namespace

void timer_add(TimerNode& node) {
  Worker* w = Worker::current();
  if (w != nullptr) {
    w->scheduler().timers().add(node);
  } else {
    process_timers().add(node);
  }
}

bool timer_cancel(TimerNode& node) noexcept {
  // acquire: pairs with TimerHeap::clear()'s release at teardown.
  TimerHeap* heap = node.heap.load(std::memory_order_acquire);
  if (heap == nullptr) return false;
  return heap->cancel(node);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
