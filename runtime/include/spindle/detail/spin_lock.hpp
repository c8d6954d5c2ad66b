// SPDX-License-Identifier: Apache-2.0
// The runtime's spin lock, and the pause and backoff it is made of.
//
// For critical sections of a few dozen instructions that never park or allocate (a channel's
// wait queues and hand-off, a context's child list): spinning is cheaper than sleeping, and
// after a short bounded spin a waiter yields its thread in case the holder was preempted.
// Parking can release one after the switch (Waiter::park_releasing), as Go's gopark runs its
// unlock function once the goroutine is off its stack.
#pragma once

#include <atomic>
#include <thread>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/// Spin a little, then yield the OS thread: for the short windows in which another thread
/// has claimed something but not yet published it (a ring slot, a hand-off's unpark).
class SpinBackoff {
 public:
  /// The first pause() spins 2^first_step times.
  constexpr explicit SpinBackoff(int first_step = 0) noexcept : step_(first_step) {}

  void pause() noexcept {
    if (step_ < 10) {
      for (int i = 0; i < (1 << step_); ++i) cpu_relax();
      ++step_;
    } else {
      std::this_thread::yield();
    }
  }

 private:
  int step_;
};

class SpinLock {
 public:
  [[gnu::always_inline]] void lock() noexcept {
    // acquire: pairs with the release store in unlock(); the previous holder's writes to
    // the queues are visible to the next holder. The uncontended exchange is all that is
    // inlined; the spin is out of line. The lock is taken on every unbuffered message, so a
    // call here would be a large share of one, and g++ makes it a call when its callers
    // grow: hence always_inline.
    if (!locked_.exchange(true, std::memory_order_acquire)) [[likely]]
      return;
    lock_contended();
  }
  void unlock() noexcept {
    // release: pairs with the acquire exchange in lock().
    locked_.store(false, std::memory_order_release);
  }

 private:
  // Between two looks at the lock word a waiter pauses 1, 2, 4 ... up to kMaxPauses times:
  // with many waiters polling it after every pause, the line bounced among them and the
  // holder's unlock, and the next exchange, waited behind that traffic. The holder is done
  // within a short critical section unless it was preempted, so after kPausesBeforeYield
  // pauses in all (far longer than any critical section) the waiter yields its thread
  // instead. The backoff matters most with many workers contending for one channel.
  static constexpr int kMaxPauses = 64;
  static constexpr int kPausesBeforeYield = 1024;

  [[gnu::noinline]] void lock_contended() noexcept {
    int wait = 1;
    int paused = 0;
    for (;;) {
      // relaxed: only a hint to retry the exchange below, which does the synchronizing.
      while (locked_.load(std::memory_order_relaxed)) {
        if (paused < kPausesBeforeYield) {
          for (int i = 0; i < wait; ++i) cpu_relax();
          paused += wait;
          if (wait < kMaxPauses) wait *= 2;
        } else {
          std::this_thread::yield();
        }
      }
      // acquire: as in lock().
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
    }
  }

  std::atomic<bool> locked_{false};
};

/// Scoped holder of a SpinLock.
class SpinLockGuard {
 public:
  explicit SpinLockGuard(SpinLock& lock) noexcept : lock_(lock) { lock_.lock(); }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;
  ~SpinLockGuard() { lock_.unlock(); }

 private:
  SpinLock& lock_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
