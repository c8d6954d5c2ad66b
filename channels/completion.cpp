// SPDX-License-Identifier: Apache-2.0
// The unpark half of a channel hand-off, run after the channel lock is released
// (ChanCompletion in chan_wait.hpp).
#include "spindle/detail/chan_wait.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

std::atomic<void (*)()> g_before_hand_off_unpark{nullptr};

void unpark_claimed(WaitEntry* first) noexcept {
  // relaxed: a test sets it before the operations it wants to stall, from the same thread
  // or before starting the thread that runs them.
  if (auto hook = g_before_hand_off_unpark.load(std::memory_order_relaxed)) hook();
  for (WaitEntry* e = first; e != nullptr;) {
    WaitEntry* next = e->links.next;  // read first: the owner may return once it is unparked
    e->ctx->waiter.unpark();
    e = next;
  }
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
