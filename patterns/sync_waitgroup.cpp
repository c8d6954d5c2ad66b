// SPDX-License-Identifier: Apache-2.0
// spindle::WaitGroup. The invariant is in patterns/include/spindle/waitgroup.hpp.
#include <stdexcept>

#include "spindle/waitgroup.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

void WaitGroup::add(std::int64_t delta) {
  std::lock_guard g(guard_);
  if (count_ + delta < 0) {
    throw std::logic_error(delta == -1 && count_ == 0
                               ? "spindle::WaitGroup: done() called too many times"
                               : "spindle::WaitGroup: negative WaitGroup counter");
  }
  count_ += delta;
  if (count_ == 0) waiters_.grant_all();
}

void WaitGroup::done() { add(-1); }

std::int64_t WaitGroup::count() const {
  std::lock_guard g(guard_);
  return count_;
}

void WaitGroup::wait() {
  detail::WaitNode node(detail::WaitKind::waitgroup, this);
  {
    std::lock_guard g(guard_);
    if (count_ == 0) return;
    waiters_.push_back(&node);
  }
  // Unwinding (runtime teardown): leave the queue unless add() already took us out of it.
  struct Unwind {
    WaitGroup* wg;
    detail::WaitNode* node;
    bool armed = true;
    ~Unwind() {
      if (!armed) return;
      std::lock_guard g(wg->guard_);
      if (node->queued) wg->waiters_.remove(node);
    }
  } unwind{this, &node};
  node.waiter.park();
  unwind.armed = false;
  std::lock_guard g(guard_);  // the waker is out of guard_ (detail/wait_queue.hpp)
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
