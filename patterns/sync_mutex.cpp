// SPDX-License-Identifier: Apache-2.0
// spindle::Mutex: the contended paths. The invariants are at the top of the class in
// patterns/include/spindle/mutex.hpp.
#include <stdexcept>

#include "spindle/mutex.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

void Mutex::lock() {
  if (!try_lock()) lock_slow();
}

void Mutex::lock_slow() {
  detail::WaitNode node(detail::WaitKind::mutex, this);
  {
    std::lock_guard g(guard_);
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if ((s & kLocked) == 0) {
        // Freed between the fast path and here: take it ourselves.
        if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
          return;
        }
        continue;
      }
      // relaxed: kWaiters only diverts unlock() to the slow path, which reads queue_ under
      // guard_; guard_ orders everything else.
      if (state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
        break;
      }
    }
    queue_.push_back(&node);
  }

  // If park() throws (the runtime is unwinding this task), leave the queue, or, if the lock
  // was handed to us meanwhile, pass it on: nobody else would ever unlock it.
  struct Unwind {
    Mutex* mu;
    detail::WaitNode* node;
    bool armed = true;
    ~Unwind() {
      if (!armed) return;
      bool owned;
      {
        std::lock_guard g(mu->guard_);
        owned = !node->queued;
        if (!owned) {
          mu->queue_.remove(node);
          if (mu->queue_.empty()) mu->state_.fetch_and(~kWaiters, std::memory_order_relaxed);
        }
      }
      if (owned) mu->unlock();
    }
  } unwind{this, &node};
  node.waiter.park();
  unwind.armed = false;
  { std::lock_guard g(guard_); }  // the unlocker is out of guard_ (detail/wait_queue.hpp)
  // Ownership was handed over by unlock_slow(); park() returning is an acquire that pairs
  // with the unpark() there, so the previous holder's writes are visible.
}

void Mutex::unlock() {
  std::uint32_t expected = kLocked;
  // release: publishes the critical section to the next try_lock()/lock_slow() acquire.
  if (state_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                     std::memory_order_relaxed)) {
    return;
  }
  if ((expected & kLocked) == 0) throw std::logic_error("spindle::Mutex: unlock of unlocked Mutex");
  unlock_slow();
}

void Mutex::unlock_slow() {
  std::lock_guard g(guard_);
  detail::WaitNode* next = queue_.pop_front();
  if (next == nullptr) {
    // The only waiter left while we were getting here (its park was unwound).
    state_.store(0, std::memory_order_release);
    return;
  }
  // Hand over: kLocked stays set; clear kWaiters once nobody else waits.
  if (queue_.empty()) state_.store(kLocked, std::memory_order_relaxed);
  next->granted = true;
  next->waiter.unpark();  // under guard_: see the protocol in detail/wait_queue.hpp
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
