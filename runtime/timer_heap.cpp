// SPDX-License-Identifier: Apache-2.0
#include "runtime/timer_heap.hpp"

#include <algorithm>
#include <thread>

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

void TimerHeap::place(std::size_t i, Slot slot) noexcept {
  heap_[i] = slot;
  slot.node->heap_index = i;
}

void TimerHeap::sift_up(std::size_t i) noexcept {
  const Slot moving = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (heap_[parent].when <= moving.when) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, moving);
}

void TimerHeap::sift_down(std::size_t i) noexcept {
  const Slot moving = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    const std::size_t first = i * kArity + 1;
    if (first >= n) break;
    const std::size_t end = std::min(first + kArity, n);
    std::size_t least = first;
    for (std::size_t c = first + 1; c < end; ++c) {
      if (heap_[c].when < heap_[least].when) least = c;
    }
    if (heap_[least].when >= moving.when) break;
    place(i, heap_[least]);
    i = least;
  }
  place(i, moving);
}

void TimerHeap::remove_at(std::size_t i) noexcept {
  const Slot last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  heap_[i] = last;
  if (i > 0 && heap_[(i - 1) / kArity].when > last.when) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

void TimerHeap::update_next_locked() {
  // relaxed: a hint mirrored under the lock; see next_deadline_ns().
  next_deadline_.store(heap_.empty() ? kNever : heap_[0].when, std::memory_order_relaxed);
}

void TimerHeap::push_locked(TimerNode& node) {
  // release: pairs with timer_cancel()'s acquire, whichever thread cancels.
  node.heap.store(this, std::memory_order_release);
  // relaxed: state changes of pending nodes happen under mu_, which orders them.
  node.state.store(TimerNode::kPending, std::memory_order_relaxed);
  heap_.push_back(Slot{node.when.time_since_epoch().count(), &node});
  sift_up(heap_.size() - 1);
}

void TimerHeap::add(TimerNode& node) {
  std::int64_t when = node.when.time_since_epoch().count();
  bool earliest;
  {
    std::lock_guard lock(mu_);
    push_locked(node);
    earliest = heap_[0].node == &node;
    update_next_locked();
  }
  if (earliest && on_new_earliest_) on_new_earliest_(when);
}

bool TimerHeap::cancel(TimerNode& node) noexcept {
  {
    std::lock_guard lock(mu_);
    // acquire: pairs with run_due()'s release store of kDone, the one transition made
    // outside mu_: a callback that already finished happens-before our return.
    std::uint32_t s = node.state.load(std::memory_order_acquire);
    if (s == TimerNode::kPending) {
      remove_at(node.heap_index);
      update_next_locked();
      node.state.store(TimerNode::kCancelled, std::memory_order_relaxed);  // under mu_
      return true;
    }
    if (s != TimerNode::kFiring) {
      node.state.store(TimerNode::kCancelled, std::memory_order_relaxed);  // under mu_
      return false;
    }
  }
  // acquire: pairs with run_due()'s release after the callback, so its effects are visible
  // and the node is ours to free.
  while (node.state.load(std::memory_order_acquire) == TimerNode::kFiring) {
    std::this_thread::yield();
  }
  // A periodic node may have been re-armed by now: cancel that arming too.
  std::lock_guard lock(mu_);
  if (node.state.load(std::memory_order_relaxed) == TimerNode::kPending) {  // under mu_
    remove_at(node.heap_index);
    update_next_locked();
  }
  node.state.store(TimerNode::kCancelled, std::memory_order_relaxed);  // under mu_
  return false;
}

std::size_t TimerHeap::run_due(TimePoint now, Order order) {
  // Due nodes are taken a batch at a time. A worker fires them latest first: a callback that
  // wakes a task puts it in that worker's runnext slot and pushes the one it displaces onto
  // the deque, so firing in reverse leaves the earliest task in runnext and the rest popping
  // in deadline order. Any other thread fires them earliest first: what they wake goes
  // through the runtime's queue of outside wake-ups, first in, first out. Either way sleepers due
  // together wake in the order of their deadlines.
  struct Due {
    TimerNode* node;
    bool self_deleting;
    bool periodic;
  };
  constexpr std::size_t kBatch = 32;
  const std::int64_t now_ns = now.time_since_epoch().count();
  std::size_t fired = 0;
  for (;;) {
    Due batch[kBatch];
    std::size_t n = 0;
    {
      std::lock_guard lock(mu_);
      while (n < kBatch && !heap_.empty() && heap_[0].when <= now_ns) {
        TimerNode* node = heap_[0].node;
        remove_at(0);
        // Read before the callback: once it has run, the owner may be on its way to freeing
        // the node, and only the final state store below may touch it.
        batch[n++] = {node, node->self_deleting, node->period.count() > 0};
        node->state.store(TimerNode::kFiring, std::memory_order_relaxed);  // under mu_
      }
      update_next_locked();
    }
    if (n == 0) return fired;
    fired += n;
    for (std::size_t k = 0; k < n; ++k) {
      const Due& d = batch[order == Order::latest_first ? n - 1 - k : k];
      fire(d.node, d.self_deleting, d.periodic, now);
    }
    if (n < kBatch) return fired;
  }
}

void TimerHeap::fire(TimerNode* node, bool self_deleting, bool periodic, TimePoint now) {
  node->callback(*node);
  if (self_deleting) return;  // the callback freed it
  bool rearmed = false;
  if (periodic) {
    std::lock_guard lock(mu_);
    // relaxed: under mu_; cancel() sets kCancelled only after seeing kFiring end.
    if (node->state.load(std::memory_order_relaxed) == TimerNode::kFiring) {
      node->when += node->period;
      if (node->when <= now) node->when = now + node->period;  // skip missed ticks, as Go
      push_locked(*node);
      update_next_locked();
      rearmed = true;
    }
  }
  if (!rearmed) {
    // release: pairs with cancel()'s acquire spin: the callback's effects happen-before the
    // owner frees the node.
    node->state.store(TimerNode::kDone, std::memory_order_release);
  }
}

void TimerHeap::clear() {
  std::vector<Slot> rest;
  {
    std::lock_guard lock(mu_);
    rest.swap(heap_);
    update_next_locked();
    for (const Slot& slot : rest) {
      TimerNode* n = slot.node;
      n->state.store(n->self_deleting ? TimerNode::kFiring : TimerNode::kCancelled,
                     std::memory_order_relaxed);  // relaxed: under mu_
      // release: pairs with timer_cancel()'s acquire; the node no longer belongs to us.
      n->heap.store(nullptr, std::memory_order_release);
    }
  }
  for (const Slot& slot : rest) {
    if (slot.node->self_deleting) slot.node->callback(*slot.node);
  }
}

std::size_t TimerHeap::size() const {
  std::lock_guard lock(mu_);
  return heap_.size();
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
