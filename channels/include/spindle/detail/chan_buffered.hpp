// SPDX-License-Identifier: Apache-2.0
// The buffered flavor (capacity > 0): BufferedState<T>. Values travel through the lock-free
// ChanRing (chan_ring.hpp); the wait queues of the core (chan_core.hpp) only hold parked
// parties, and a successful push (pop) wakes one parked receiver (sender), which then
// retries its operation (kClaimCompletes is false: a claim only means "retry").
//
// Invariants:
//   * a parked receiver re-checks the ring after enqueuing, and every push checks for parked
//     receivers after pushing (symmetric for senders), so "ring non-empty and a receiver
//     parked for good" cannot last: see the flag protocol below;
//   * close() sets the ring's closed bit first, then wakes every entry linked before it; a
//     party enrolling after it sees the bit in its ring re-check after linking, and does not
//     park (it retries, and its retry reports the close);
//   * a woken party that leaves without retrying (it is being unwound) hands its wake-up on
//     to the next parked party of its side (forward_*_wakeup), so no wake-up is lost.
//
// The flag protocol, the one place where lock-free and locked meet:
//   receiver: lock; enqueue; receivers_.waiting = true (seq_cst); unlock; load ring (seq_cst)
//   sender:   CAS ring tail (seq_cst); ...; load receivers_.waiting (seq_cst)
// All four are seq_cst, so in their single total order either the receiver's ring load
// follows the sender's CAS (the receiver sees a value and does not park) or the sender's
// flag load follows the receiver's store (the sender wakes it). Same for senders on a full
// ring with head_. Every flag store of this flavor is seq_cst for that reason. The flag may
// be stale in the other direction (true with only dead entries); that only costs a lock
// round trip.
//
// Who may touch what: the ring is lock-free; everything else as in chan_core.hpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <optional>

#include "spindle/abi.hpp"
#include "spindle/detail/chan_core.hpp"
#include "spindle/detail/chan_ring.hpp"
#include "spindle/detail/chan_status.hpp"
#include "spindle/detail/chan_wait.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

template <class T>
class BufferedState final : public ChanState<T> {
 public:
  /// A claim of a parked party only wakes it to retry.
  static constexpr bool kClaimCompletes = false;

  /// Every capacity a ring can hold.
  static bool serves(std::size_t capacity) noexcept {
    return capacity > 0 && capacity <= ChanRing<T>::kMaxCapacity;
  }

  BufferedState(ChanFlavorId id, std::size_t capacity) : ChanState<T>(id), ring_(capacity) {}

  std::size_t capacity() const noexcept { return ring_.capacity(); }
  std::size_t size() const noexcept { return ring_.size(); }

  /// A hint that a send would not find the ring full and open: it may complete, or throw
  /// because of a close.
  bool send_may_proceed() const noexcept {
    // seq_cst loads inside: the ring's readiness loads.
    return ring_.push_ready();
  }
  /// A hint that a receive would find a value, or the channel closed.
  bool recv_may_proceed() const noexcept {
    // seq_cst loads inside: the ring's readiness loads.
    return ring_.pop_ready();
  }

  /// Non-blocking send: moves from `value` only when it returns ok. It stays small enough to
  /// inline into the blocking send and receive, so the value travels in registers instead of
  /// through a stack slot that a wider load reads back (a store-forwarding stall per
  /// message).
  ChanStatus try_send(T& value) noexcept {
    const ChanStatus s = ring_.try_push(value);
    if (s == ChanStatus::ok) this->wake_one(this->receivers_);
    return s;
  }
  /// Non-blocking receive: fills `out` only when it returns ok. Inlined as try_send is.
  ChanStatus try_recv(std::optional<T>& out) noexcept {
    const ChanStatus s = ring_.try_pop(out);
    if (s == ChanStatus::ok) this->wake_one(this->senders_);
    return s;
  }

  /// Closes the channel and wakes every parked party. False if it was already closed.
  bool close() noexcept {
    if (!ring_.close()) return false;
    ChanCompletion guard(this->lock_);
    // seq_cst: flag stores of the flag protocol.
    this->template wake_all_closed<std::memory_order_seq_cst>(guard);
    return true;
  }

  /// Links `e` as a waiting sender whose value is `*value`. Returns true when the send looks
  /// possible right now (the caller then aborts and retries instead of parking); the entry
  /// is linked in either case.
  bool enroll_send(WaitEntry& e, T* value) noexcept {
    enroll(e, value, this->senders_);
    // seq_cst loads inside: the ring load of the flag protocol.
    return ring_.push_ready();
  }
  /// Links `e` as a waiting receiver. Returns as enroll_send.
  bool enroll_recv(WaitEntry& e, std::optional<T>* out) noexcept {
    enroll(e, out, this->receivers_);
    // seq_cst loads inside: the ring load of the flag protocol.
    return ring_.pop_ready();
  }
  /// Unlinks `e` if still linked; afterwards no claimer touches it any more.
  void unenroll_send(WaitEntry& e) noexcept {
    // seq_cst: a flag store of the flag protocol.
    this->template unenroll<std::memory_order_seq_cst>(e, this->senders_);
  }
  void unenroll_recv(WaitEntry& e) noexcept {
    // seq_cst: a flag store of the flag protocol.
    this->template unenroll<std::memory_order_seq_cst>(e, this->receivers_);
  }
  /// A sender (receiver) woken to retry is leaving without retrying (it is being unwound):
  /// wake the next one in its place.
  void forward_send_wakeup() noexcept { this->wake_one(this->senders_); }
  void forward_recv_wakeup() noexcept { this->wake_one(this->receivers_); }

 private:
  using Side = typename ChanState<T>::Side;

  void enroll(WaitEntry& e, void* packet, Side& mine) noexcept {
    SpinLockGuard guard(this->lock_);
    this->link(e, packet, mine);
    // seq_cst: the flag store of the flag protocol (see the top of this file).
    mine.waiting.store(true, std::memory_order_seq_cst);
  }

  ChanRing<T> ring_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
