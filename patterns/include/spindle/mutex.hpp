// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Mutex: a mutual-exclusion lock that parks tasks instead of blocking their worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "spindle/abi.hpp"
#include "spindle/detail/wait_queue.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A mutual-exclusion lock for tasks and threads alike (Go's sync.Mutex). A task that has to
/// wait is parked, so its worker thread runs other tasks meanwhile; a plain OS thread that has
/// to wait blocks. Meets the standard Lockable requirements, so std::lock_guard,
/// std::unique_lock and std::scoped_lock work.
///
/// @code
/// spindle::Mutex mu;
/// int counter = 0;
/// // in any number of tasks:
/// { std::lock_guard lock(mu); ++counter; }
/// @endcode
///
/// Fairness: unlock() hands the lock directly to the longest-waiting party, so waiters are
/// served first in, first out and a task that re-locks in a loop cannot starve the others.
/// Not recursive; like Go's, a Mutex may be unlocked by a different task than locked it.
class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  ~Mutex() = default;

  /// Acquires the lock, parking the task (or blocking the thread) until it is free.
  void lock();
  /// Acquires the lock if it is free and nobody is waiting; never blocks.
  bool try_lock() noexcept {
    std::uint32_t expected = 0;
    // acquire: pairs with the release in unlock(); the previous holder's writes are visible.
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  /// Releases the lock, handing it to the first waiter if there is one.
  /// @throws std::logic_error "unlock of unlocked Mutex" if it was not locked.
  void unlock();

 private:
  // Invariants:
  //  * kLocked is set while some party owns the lock, including the moment between unlock()
  //    handing it to a waiter and that waiter resuming (ownership passes without a gap, so
  //    nobody can barge in front of the queue).
  //  * kWaiters is set exactly while queue_ is non-empty; both change only under guard_.
  //  * The fast paths (try_lock: 0 -> kLocked; unlock: kLocked -> 0) therefore fail whenever
  //    someone waits, and the slow paths see the queue under guard_: no wake-up is lost.
  // guard_ is a std::mutex, held only for a few instructions and never across a park: the
  // contended path of a sync primitive is not the hot path, and this keeps the protocol
  // simple enough to check by eye.
  static constexpr std::uint32_t kLocked = 1;
  static constexpr std::uint32_t kWaiters = 2;

  void lock_slow();
  void unlock_slow();

  std::atomic<std::uint32_t> state_{0};
  std::mutex guard_;
  detail::WaitQueue queue_;  // under guard_
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
