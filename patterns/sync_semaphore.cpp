// SPDX-License-Identifier: Apache-2.0
// spindle::Semaphore. The invariants are in patterns/include/spindle/semaphore.hpp.
#include <stdexcept>
#include <string>

#include "spindle/semaphore.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

Semaphore::Semaphore(std::int64_t capacity) : capacity_(capacity) {
  if (capacity < 0) {
    throw std::invalid_argument("spindle::Semaphore: negative capacity " +
                                std::to_string(capacity));
  }
}

void Semaphore::check_weight(std::int64_t n, const char* what) const {
  if (n < 0) {
    throw std::invalid_argument(std::string("spindle::Semaphore::") + what + ": negative count " +
                                std::to_string(n));
  }
}

void Semaphore::check_acquire(std::int64_t n) const {
  check_weight(n, "acquire");
  if (n > capacity_) {
    throw std::invalid_argument("spindle::Semaphore::acquire: " + std::to_string(n) +
                                " tokens requested but the capacity is only " +
                                std::to_string(capacity_));
  }
}

void Semaphore::acquire(std::int64_t n) {
  check_acquire(n);
  detail::WaitNode node(detail::WaitKind::other, this);
  node.weight = n;
  {
    std::lock_guard g(guard_);
    if (queue_.empty() && capacity_ - held_ >= n) {
      held_ += n;
      return;
    }
    queue_.push_back(&node);
  }
  // Unwinding (runtime teardown): leave the queue, or give back tokens granted meanwhile.
  struct Unwind {
    Semaphore* sem;
    detail::WaitNode* node;
    bool armed = true;
    ~Unwind() {
      if (!armed) return;
      std::lock_guard g(sem->guard_);
      if (node->queued) {
        sem->queue_.remove(node);
      } else {
        sem->held_ -= node->weight;
      }
      sem->grant_waiters();  // our departure may have unblocked the next in line
    }
  } unwind{this, &node};
  node.waiter.park();
  unwind.armed = false;
  std::lock_guard g(guard_);  // the releaser is out of guard_ (detail/wait_queue.hpp)
}

bool Semaphore::try_acquire(std::int64_t n) {
  check_weight(n, "try_acquire");
  std::lock_guard g(guard_);
  if (queue_.empty() && capacity_ - held_ >= n) {
    held_ += n;
    return true;
  }
  return false;
}

void Semaphore::release(std::int64_t n) {
  check_weight(n, "release");
  std::lock_guard g(guard_);
  if (n > held_) {
    throw std::logic_error("spindle::Semaphore::release: released more than held (" +
                           std::to_string(n) + " released, " + std::to_string(held_) + " held)");
  }
  held_ -= n;
  grant_waiters();
}

void Semaphore::grant_waiters() noexcept {
  while (detail::WaitNode* head = queue_.front()) {
    if (capacity_ - held_ < head->weight) break;  // strict FIFO: nobody overtakes the head
    held_ += head->weight;
    queue_.remove(head);
    head->granted = true;
    head->waiter.unpark();  // under guard_: see the protocol in detail/wait_queue.hpp
  }
}

std::int64_t Semaphore::held() const {
  std::lock_guard g(guard_);
  return held_;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
