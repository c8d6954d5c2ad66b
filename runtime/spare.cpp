// SPDX-License-Identifier: Apache-2.0
// A spare worker's own side of its life (runtime/monitor.hpp, "Spares"): handing its queued
// tasks back when the monitor no longer needs it, and waiting dormant to be needed again.
#include <chrono>

#include "runtime/coarse_clock.hpp"
#include "runtime/futex.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/worker.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

// A spare dormant this long ends its thread; the monitor starts a new one when needed.
constexpr auto kSpareLinger = std::chrono::seconds(10);

}  // namespace

void Worker::hand_back_queues() {
  if (spinning_) stop_spinning();
  if (Fiber* f = take_runnext()) sched_.requeue(f);
  while (Fiber* f = deque.pop()) sched_.requeue(f);
  while (Fiber* f = pop_yield()) sched_.requeue(f);
}

bool Worker::spare_wait() {
  // relaxed: the request is answered by the state change below, which the monitor reads.
  retire.store(false, std::memory_order_relaxed);
  sched_.registry().sweep(index_);
  std::uint32_t state = kSpareActive;
  // acq_rel: release publishes the emptied queues to the monitor's next activation; the
  // exchange fails only when teardown stored kSpareStop.
  if (!spare_state.compare_exchange_strong(state, kSpareDormant, std::memory_order_acq_rel)) {
    return false;
  }
  sched_.spare_retired();
  CoarseClockHold::release();  // dormant: the coarse clock may stop
  const TimePoint give_up = Clock::now() + kSpareLinger;
  for (;;) {
    // acquire: pairs with start_spare()'s release (or teardown's).
    state = spare_state.load(std::memory_order_acquire);
    if (state != kSpareDormant) break;
    if (Clock::now() >= give_up) {
      // acq_rel: as above; fails if the monitor activated this spare meanwhile.
      if (spare_state.compare_exchange_strong(state, kSpareExited, std::memory_order_acq_rel)) {
        CoarseClockHold::acquire();  // balanced by loop()'s hold as the thread ends
        return false;
      }
      break;
    }
    futex_wait(spare_state, kSpareDormant, &give_up);
  }
  CoarseClockHold::acquire();
  return state == kSpareActive;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
