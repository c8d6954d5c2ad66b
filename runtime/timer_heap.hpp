// SPDX-License-Identifier: Apache-2.0
// A min-heap of TimerNodes ordered by expiry, indexed so that cancel is O(log n).
//
// Four children per node, and each slot carries its node's expiry beside the pointer: a
// sift compares keys that sit together in the array without reaching into the nodes, and
// the heap is half as deep as a binary one, so a sift through 100,000 timers touches about
// nine nodes (to update their indices) instead of seventeen.
//
// One mutex guards the heap; it is held only for O(log n) sift steps, never while a callback
// runs. next_deadline_ mirrors the root so that the scheduler's hot loop can tell "nothing
// due" with one relaxed load instead of taking the lock.
//
// Node states (TimerNode::state): kPending while in the heap, kFiring while its callback
// runs, kDone/kCancelled afterwards. cancel() of a kFiring node waits for it to leave that
// state, which is what lets owners free a node right after cancel() returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <vector>

#include "spindle/abi.hpp"
#include "spindle/detail/timer.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class TimerHeap {
 public:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

  /// `on_new_earliest(deadline_ns)` runs (outside the lock) whenever an add() makes the root
  /// earlier, so a sleeping watcher can shorten its sleep.
  explicit TimerHeap(std::function<void(std::int64_t)> on_new_earliest)
      : on_new_earliest_(std::move(on_new_earliest)) {}

  void add(TimerNode& node);
  bool cancel(TimerNode& node) noexcept;

  /// In which order run_due() fires the nodes due together (see there).
  enum class Order : std::uint8_t { earliest_first, latest_first };
  /// Fires every node due at `now`; returns how many fired. A worker passes latest_first
  /// (the tasks it wakes go into its runnext slot); other threads earliest_first.
  std::size_t run_due(TimePoint now, Order order = Order::earliest_first);

  /// Expiry of the earliest pending node in Clock nanoseconds, or kNever.
  std::int64_t next_deadline_ns() const noexcept {
    // relaxed: a hint; run_due() re-checks under the lock.
    return next_deadline_.load(std::memory_order_relaxed);
  }

  std::size_t size() const;

  /// Empties the heap at teardown: self-deleting nodes fire (their callback frees them),
  /// the others are marked cancelled.
  void clear();

 private:
  struct Slot {
    std::int64_t when;  // node->when in Clock nanoseconds, copied when the node is pushed
    TimerNode* node;
  };
  static constexpr std::size_t kArity = 4;

  void place(std::size_t i, Slot slot) noexcept;
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void remove_at(std::size_t i) noexcept;
  void push_locked(TimerNode& node);
  void update_next_locked();
  // Runs one due node's callback (it is kFiring), then re-arms or retires it.
  void fire(TimerNode* node, bool self_deleting, bool periodic, TimePoint now);

  mutable std::mutex mu_;
  std::vector<Slot> heap_;
  std::atomic<std::int64_t> next_deadline_{kNever};
  std::function<void(std::int64_t)> on_new_earliest_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
