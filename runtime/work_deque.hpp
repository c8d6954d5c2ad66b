// SPDX-License-Identifier: Apache-2.0
// A Chase-Lev work-stealing deque of Fiber pointers, with the C11 memory orders of Lê,
// Pop, Cohen and Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak Memory
// Models" (PPoPP 2013).
//
// Invariants:
//   - Only the owner calls push() and pop(); any thread may call steal().
//   - Live items occupy [top, bottom). top only grows (thieves and the owner's last-item
//     race both advance it by CAS); bottom moves only in the owner.
//   - The buffer grows by copying into a twice-larger one; old buffers are kept until the
//     deque dies, because a thief may still be reading one.
// One deviation from the paper: push() publishes with a release store of bottom rather
// than a release fence plus a relaxed store. It costs nothing on x86/ARMv8 and lets
// ThreadSanitizer, which does not model fences, see the hand-off of the Fiber's contents.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Fiber;

class WorkDeque {
 public:
  explicit WorkDeque(std::size_t log2_capacity = 8) {
    buffers_.push_back(std::make_unique<Buffer>(log2_capacity));
    // relaxed: construction happens before the deque is shared (thread start publishes it).
    buffer_.store(buffers_.back().get(), std::memory_order_relaxed);
  }

  /// Owner only. Returns how many items the deque held before, as last seen: 0 when it was
  /// empty, or when thieves have taken every item it held at the previous look at top.
  ///
  /// The owner reads top only when its last sighting says the deque is nearly empty or
  /// nearly full, and on every 8th position otherwise. A thief writes top on every steal, so
  /// reading it on every push would make each push and each steal a cache miss, a large
  /// share of a spawn+join on two workers, where thieves take many of the tasks. A stale
  /// sighting is a lower bound of top, so it can only overstate the size: the fullness check
  /// stays safe, and a deque drained behind the owner's back is noticed within 8 pushes.
  std::size_t push(Fiber* f) {
    // relaxed: only the owner writes bottom.
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    Buffer* a = buffer_.load(std::memory_order_relaxed);  // relaxed: owner-written
    std::int64_t t = top_seen_;
    bool drained = false;
    const auto mask = static_cast<std::int64_t>(a->mask);
    if (b - t < kLookAlways || (b & 7) == 0 || b - t > mask) {
      // acquire: pairs with the thieves' CAS on top, so their reads of slots precede reuse.
      t = top_.load(std::memory_order_acquire);
      drained = t >= bottom_seen_;
      top_seen_ = t;
      bottom_seen_ = b + 1;
      if (b - t > mask) a = grow(a, t, b);
    }
    a->put(b, f);
    // release: publishes the slot and the Fiber's contents to thieves' acquire of bottom.
    bottom_.store(b + 1, std::memory_order_release);
    return b > t && !drained ? static_cast<std::size_t>(b - t) : 0;
  }

  /// Owner only: the most recently pushed item, or nullptr.
  Fiber* pop() {
    // Empty check without the fence: only the owner adds items, so a deque that looks
    // empty to it cannot fill up behind its back. relaxed: owner-written / a lower bound.
    if (bottom_.load(std::memory_order_relaxed) <= top_.load(std::memory_order_relaxed)) {
      return nullptr;
    }
    // relaxed: owner-written.
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    Buffer* a = buffer_.load(std::memory_order_relaxed);  // relaxed: owner-written
    bottom_.store(b, std::memory_order_relaxed);          // relaxed: ordered by the fence below
    // seq_cst: the owner's claim of slot b and a thief's claim of top must not both succeed.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_relaxed);  // relaxed: ordered by the fence
    Fiber* f = nullptr;
    if (t <= b) {
      f = a->get(b);
      if (t == b) {
        // Last item: race the thieves for it.
        if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
          f = nullptr;
        }
        bottom_.store(b + 1, std::memory_order_relaxed);  // relaxed: owner-only restore
      }
    } else {
      bottom_.store(b + 1, std::memory_order_relaxed);  // relaxed: owner-only restore
    }
    return f;
  }

  /// Any thread: the oldest item, or nullptr when empty or when another thief won the race
  /// (callers treat both as "try elsewhere").
  Fiber* steal() {
    // acquire: pairs with the CAS of other thieves and the owner on top.
    std::int64_t t = top_.load(std::memory_order_acquire);
    // seq_cst: orders the read of top before the read of bottom against pop()'s fence.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // acquire: pairs with push()'s release of bottom: the slot and the Fiber are visible.
    std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return nullptr;
    // acquire: pairs with grow()'s release, so the new buffer's slots are visible.
    Buffer* a = buffer_.load(std::memory_order_acquire);
    Fiber* f = a->get(t);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return nullptr;
    }
    return f;
  }

  /// Index of the oldest item; it changes whenever that item leaves (a hint for thieves).
  std::uint64_t top_hint() const noexcept {
    // relaxed: thieves compare it over time; steal() does the synchronising.
    return static_cast<std::uint64_t>(top_.load(std::memory_order_relaxed));
  }

  /// Any thread: the oldest item as seen right now, or nullptr when the deque looks empty. A
  /// hint only (it may have been stolen or popped already); never dereference it.
  Fiber* peek_top() const noexcept {
    // relaxed: a hint, as top_hint(); steal() does the synchronising.
    const std::int64_t t = top_.load(std::memory_order_relaxed);
    // acquire: pairs with push()'s release of bottom, as in steal().
    const std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return nullptr;
    // acquire: pairs with grow()'s release.
    return buffer_.load(std::memory_order_acquire)->get(t);
  }
  /// Approximate number of items (exact for the owner when no steal is in flight).
  std::size_t size_hint() const noexcept {
    // relaxed: an estimate for the steal-half heuristic and diagnostics.
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_relaxed);  // relaxed: see above
    return b > t ? static_cast<std::size_t>(b - t) : 0;
  }

 private:
  static constexpr std::int64_t kLookAlways = 8;

  struct Buffer {
    explicit Buffer(std::size_t log2) : mask((std::size_t{1} << log2) - 1), slots(mask + 1) {}
    // relaxed: slot accesses are ordered by the bottom/top protocol around them.
    Fiber* get(std::int64_t i) const {
      return slots[static_cast<std::size_t>(i) & mask].load(std::memory_order_relaxed);
    }
    void put(std::int64_t i, Fiber* f) {
      // relaxed: published by the release store of bottom in push().
      slots[static_cast<std::size_t>(i) & mask].store(f, std::memory_order_relaxed);
    }
    std::size_t mask;
    std::vector<std::atomic<Fiber*>> slots;
  };

  Buffer* grow(Buffer* old, std::int64_t t, std::int64_t b) {
    std::size_t log2 = 1;
    while ((std::size_t{1} << log2) <= old->mask + 1) ++log2;
    buffers_.push_back(std::make_unique<Buffer>(log2));
    Buffer* a = buffers_.back().get();
    for (std::int64_t i = t; i < b; ++i) a->put(i, old->get(i));
    // release: pairs with steal()'s acquire of buffer_: copied slots are visible first.
    buffer_.store(a, std::memory_order_release);
    return a;
  }

  alignas(64) std::atomic<std::int64_t> top_{0};
  alignas(64) std::atomic<std::int64_t> bottom_{0};
  // Owner-only: top at the owner's last look, and bottom just after it.
  std::int64_t top_seen_ = 0;
  std::int64_t bottom_seen_ = 0;
  alignas(64) std::atomic<Buffer*> buffer_{nullptr};
  std::vector<std::unique_ptr<Buffer>> buffers_;  // owner-only; keeps retired buffers alive
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
