// SPDX-License-Identifier: Apache-2.0
// Timers: one-shot or periodic callbacks at a TimePoint, for sleeps, `after`, `Ticker` and
// context deadlines.
//
// A TimerNode belongs to its owner (usually on the owner's stack or inside a channel's
// state); timer_add() links it into the timer heap of the running task's runtime, or of the
// process-wide timer thread when called outside any task. The callback runs on a worker's
// scheduler stack (or the timer thread), never inside a task: it must be short and must not
// block; it may add or cancel other timers.
//
// Cancel/fire race: timer_cancel() returns true when it removed the node before it fired.
// If the callback is running at that moment, timer_cancel() waits for it to finish, so after
// timer_cancel() returns the owner may free the node. Periodic nodes re-arm themselves after
// each callback until cancelled.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "spindle/abi.hpp"
#include "spindle/clock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class TimerHeap;

struct TimerNode {
  using Callback = void (*)(TimerNode& node);

  TimerNode(Callback cb, void* ctx) noexcept : callback(cb), context(ctx) {}
  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;

  Callback callback;
  void* context;              // free for the owner's use
  TimePoint when{};           // next expiry
  Clock::duration period{0};  // > 0: re-arm every period after firing
  // The callback frees the node itself: the heap never touches it after calling back, and it
  // cannot be cancelled or be periodic (used by fire-and-forget timers such as after()).
  bool self_deleting = false;

  // Managed by the heap.
  enum : std::uint32_t { kIdle, kPending, kFiring, kDone, kCancelled };
  std::atomic<std::uint32_t> state{kIdle};
  std::size_t heap_index = 0;
  // The heap the node was armed on; reset when that heap is torn down (its runtime was
  // destroyed), so a later timer_cancel() finds nothing to do instead of a dead heap.
  std::atomic<TimerHeap*> heap{nullptr};
};

/// Arms `node` at node.when (and then every node.period if positive).
void timer_add(TimerNode& node);

/// Disarms `node`. True if it was removed before firing (for a periodic node: before its next
/// firing). Waits for a running callback to finish first. Idempotent.
bool timer_cancel(TimerNode& node) noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
