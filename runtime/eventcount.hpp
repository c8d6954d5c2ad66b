// An eventcount: lets idle workers sleep on a futex without losing a wake-up.
//
// A would-be sleeper announces itself (prepare_wait), re-checks every source of work, and
// only then sleeps, and only if no notification happened since it announced. A producer
// publishes work first, then notifies. Why no wake-up is lost: both sides do a seq_cst
// write followed by a seq_cst read of the other side's variable (sleeper: waiters_ then the
// queues; producer: the queue, then waiters_). In the single total order of seq_cst
// operations one of the two reads must see the other's write: either the sleeper's re-check
// finds the work, or the producer sees a waiter and bumps epoch_, and the sleeper's futex
// wait (which compares against the epoch read in prepare_wait) returns at once.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>

#include "runtime/futex.hpp"

namespace spindle::detail {

class EventCount {
 public:
  using Key = std::uint32_t;

  /// Announces a sleeper. Follow with a re-check, then wait() or cancel_wait().
  Key prepare_wait() noexcept {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    return epoch_.load(std::memory_order_seq_cst);
  }

  void cancel_wait() noexcept { waiters_.fetch_sub(1, std::memory_order_seq_cst); }

  /// Sleeps unless a notification came after prepare_wait(), or until `deadline` if given.
  void wait(Key key, const TimePoint* deadline = nullptr) noexcept {
    if (epoch_.load(std::memory_order_seq_cst) == key) futex_wait(epoch_, key, deadline);
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
  }

  /// Wakes one sleeper, if any. Call after publishing the work.
  void notify_one() noexcept { notify(1); }
  /// Wakes every sleeper (used when the earliest timer moved earlier).
  void notify_all() noexcept { notify(INT_MAX); }

  /// Number of announced sleepers (an estimate once read).
  std::uint32_t waiters() const noexcept { return waiters_.load(std::memory_order_seq_cst); }

 private:
  void notify(int count) noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (waiters_.load(std::memory_order_seq_cst) == 0) return;
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    futex_wake(epoch_, count);
  }

  alignas(64) std::atomic<std::uint32_t> epoch_{0};
  alignas(64) std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace spindle::detail
