// SPDX-License-Identifier: Apache-2.0
// Revoking a buffered channel's bias to the worker of a one-worker runtime
// (channels/include/spindle/detail/chan_ring.hpp, "Bias").
#include <atomic>
#include <cstdint>

#include "runtime/process_fence.hpp"
#include "spindle/detail/chan_ring.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

namespace {
// The mark of a revocation under way: never any thread's tag.
constinit const char revoking_mark = 0;
}  // namespace

void ring_make_shared(std::atomic<const void*>& bias,
                      const std::atomic<std::uint32_t>& busy) noexcept {
  // acquire: pairs with the release that ends a revocation.
  const void* seen = bias.load(std::memory_order_acquire);
  if (seen == nullptr) return;
  // acquire: as above, when another thread finished the revocation first.
  if (seen != &revoking_mark &&
      bias.compare_exchange_strong(seen, &revoking_mark, std::memory_order_acquire)) {
    // Every thread passes a full barrier: the owner's busy_ raised before it, or its next
    // look at bias_ after it (it then sees the mark and leaves the plain path).
    process_fence();
    SpinBackoff backoff;
    // acquire: pairs with the owner's release of busy_; its plain accesses are visible.
    while (busy.load(std::memory_order_acquire) != 0) backoff.pause();
    // release: whoever sees the ring shared sees what this thread saw of the owner's work.
    bias.store(nullptr, std::memory_order_release);
    return;
  }
  SpinBackoff backoff;
  // acquire: as at the top; waits out another thread's revocation.
  while (bias.load(std::memory_order_acquire) != nullptr) backoff.pause();
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
