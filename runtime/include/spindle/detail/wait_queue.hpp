// SPDX-License-Identifier: Apache-2.0
// WaitQueue: the FIFO of parked parties behind spindle's sync primitives (Mutex, WaitGroup,
// Semaphore). Not a concurrent structure by itself: every primitive guards its queue with a
// lock of its own, and every field of a WaitNode except the Waiter is read and written only
// under that lock.
//
// Protocol (each primitive follows it):
//   blocking party: under the lock, push its stack-allocated node; unlock; node.waiter.park().
//   waker:          under the lock, pop the node, set node.granted (and anything else the
//                   party must know) and node.waiter.unpark(); then unlock. Unparking under
//                   the lock costs a few instructions of hold time but closes the one window
//                   a party unwinding out of park() (runtime teardown) could otherwise hit:
//                   once it holds the lock, no waker can touch its node any more. After
//                   unpark the waker never touches the node again.
//   returning:      after park() returns, the party takes and drops the lock once before it
//                   returns to its caller. The waker still holds the lock while it unparks,
//                   and the caller may destroy the primitive right away (a WaitGroup on the
//                   waiter's stack, say); passing through the lock means the waker is out.
//   unwinding:      if park() throws (runtime teardown) or gives up (a context fired), the
//                   party takes the lock and, if node.queued is still set, unlinks itself;
//                   if instead it was granted meanwhile, it gives back what it was granted.
#pragma once

#include <cstdint>

#include "spindle/abi.hpp"
#include "spindle/detail/intrusive_list.hpp"
#include "spindle/detail/waiter.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

struct WaitNode {
  /// `kind` and `primitive` describe the wait for diagnostics (Runtime::tasks()).
  explicit WaitNode(WaitKind kind, const void* primitive) noexcept : waiter(kind, primitive) {}
  WaitNode(const WaitNode&) = delete;
  WaitNode& operator=(const WaitNode&) = delete;

  Waiter waiter;              // bound to the constructing task or thread
  ListLinks<WaitNode> links;  // queue links, under the owner's lock
  std::int64_t weight = 0;    // what the party asks for (Semaphore tokens)
  bool queued = false;        // linked in a queue
  bool granted = false;       // the waker handed the party what it waited for
};

class WaitQueue {
 public:
  bool empty() const noexcept { return list_.empty(); }
  WaitNode* front() const noexcept { return list_.front(); }

  /// Links `n`, which is in no queue.
  void push_back(WaitNode* n) noexcept {
    list_.push_back(*n);
    n->queued = true;
  }

  /// Unlinks `n`, which must be queued here.
  void remove(WaitNode* n) noexcept {
    list_.remove(*n);
    n->queued = false;
  }

  WaitNode* pop_front() noexcept {
    WaitNode* n = list_.front();
    if (n != nullptr) remove(n);
    return n;
  }

  /// Unlinks every node, marks it granted and unparks it, in queue order.
  void grant_all() noexcept {
    while (WaitNode* n = pop_front()) {
      n->granted = true;
      n->waiter.unpark();  // `n` may be gone after this line
    }
  }

 private:
  IntrusiveList<WaitNode, &WaitNode::links> list_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
