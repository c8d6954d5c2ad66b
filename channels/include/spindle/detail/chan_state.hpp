// SPDX-License-Identifier: Apache-2.0
// The shared state behind every handle of one channel: ChanState<T>.
//
// Two flavors, chosen by the capacity at construction (as crossbeam-channel does):
//   * buffered (capacity > 0): values travel through the lock-free ChanRing; the wait queues
//     only hold parked parties, and a successful push (pop) wakes one parked receiver
//     (sender), which then retries its operation;
//   * unbuffered (capacity 0): there is no buffer; a send and a receive meet in a wait queue
//     and the one that arrives second claims the first under the channel lock, then moves
//     the value directly between the two stacks (Go's direct hand-off) after releasing it.
//     A plain send or receive that arrives first enrols under the lock and parks holding it;
//     its worker releases it once the task is switched out (Waiter::park_releasing).
//
// Invariants (Go's, restated for this design):
//   * unbuffered: at most one of `senders_` and `receivers_` holds a live (unclaimed) entry
//     of any one context pair: an arriving party always takes a live partner instead of
//     enqueuing (the exception: one select enqueued on both sides of the same channel, which
//     never matches itself);
//   * buffered: a parked receiver re-checks the ring after enqueuing, and every push checks
//     for parked receivers after pushing (symmetric for senders), so "ring non-empty and a
//     receiver parked for good" cannot last: see the flag protocol below;
//   * close() wakes every entry linked before it; a party enrolling after it sees the close
//     (unbuffered: under the lock, before linking; buffered: in its ring re-check after
//     linking) and never parks.
//
// The flag protocol (buffered flavor), the one place where lock-free and locked meet:
//   receiver: lock; enqueue; receivers_waiting_ = true (seq_cst); unlock; load ring (seq_cst)
//   sender:   CAS ring tail (seq_cst); ...; load receivers_waiting_ (seq_cst)
// All four are seq_cst, so in their single total order either the receiver's ring load
// follows the sender's CAS (the receiver sees a value and does not park) or the sender's
// flag load follows the receiver's store (the sender wakes it). Same for senders on a full
// ring with head_. The flag may be stale in the other direction (true with only dead
// entries); that only costs a lock round trip. Unbuffered channels have no ring: their
// flags are only hints for try_send / try_recv (release stores, acquire loads).
//
// Who may touch what: the ring is lock-free; the queues, `linked`, claims and closed_ writes
// happen only under lock_; the `*_waiting_` flags are written under lock_ and read anywhere;
// a claimed entry's `result` and `packet` belong to its claimer until it unparks the owner.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/detail/chan_ring.hpp"
#include "spindle/detail/chan_wait.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

template <class T>
class ChanState {
 public:
  explicit ChanState(std::size_t capacity) {
    if (capacity > 0) ring_.emplace(capacity);
  }
  ChanState(const ChanState&) = delete;
  ChanState& operator=(const ChanState&) = delete;

  std::size_t capacity() const noexcept { return ring_ ? ring_->capacity() : 0; }
  std::size_t size() const noexcept { return ring_ ? ring_->size() : 0; }
  bool closed() const noexcept {
    // acquire: pairs with the release store in close().
    return ring_ ? ring_->closed() : closed_.load(std::memory_order_acquire);
  }

  /// A hint that a send would not find the channel full (buffered) or without a parked
  /// receiver (unbuffered) and open: it may complete, or throw because of a close.
  bool send_may_proceed() const noexcept {
    // seq_cst loads inside: the ring's readiness loads.
    return ring_ ? ring_->push_ready() : receiver_or_close_hint();
  }
  /// A hint that a receive would find a value, a parked sender, or the channel closed.
  bool recv_may_proceed() const noexcept {
    // seq_cst loads inside: the ring's readiness loads.
    return ring_ ? ring_->pop_ready() : sender_or_close_hint();
  }

  /// Non-blocking send: moves from `value` only when it returns ok.
  ChanStatus try_send(T& value) noexcept {
    if (ring_) return try_send_buffered(value);
    // The hint test inline: a select polls every case, and most find nobody (a call each).
    if (!receiver_or_close_hint()) return ChanStatus::not_ready;
    return try_send_unbuffered(value);
  }

  /// Non-blocking receive: fills `out` only when it returns ok.
  ChanStatus try_recv(std::optional<T>& out) noexcept {
    if (ring_) return try_recv_buffered(out);
    if (!sender_or_close_hint()) return ChanStatus::not_ready;  // inline, as in try_send
    return try_recv_unbuffered(out);
  }

  /// try_send() of a buffered channel (capacity() > 0), for the blocking send's fast path.
  /// It stays small enough to inline into chan_send and chan_recv, so the value travels in
  /// registers instead of through a stack slot that a wider load reads back (a
  /// store-forwarding stall per message). try_send's unbuffered hint test stays out of it:
  /// inlined as well, it makes g++ stop inlining the channel lock into the unbuffered paths.
  ChanStatus try_send_buffered(T& value) noexcept {
    const ChanStatus s = ring_->try_push(value);
    if (s == ChanStatus::ok) wake_one(receivers_, receivers_waiting_);
    return s;
  }
  /// try_recv() of a buffered channel, likewise.
  ChanStatus try_recv_buffered(std::optional<T>& out) noexcept {
    const ChanStatus s = ring_->try_pop(out);
    if (s == ChanStatus::ok) wake_one(senders_, senders_waiting_);
    return s;
  }

  /// Unbuffered only, for a plain blocking send: takes the lock and, in one locked step,
  /// hands `value` to a parked receiver (ok) or reports closed, releasing it; or returns
  /// not_ready with the lock still held, and the caller links itself with
  /// enroll_sender_locked() and parks with Waiter::park_releasing(wait_lock()), which
  /// releases it once the task is off its stack. The caller builds its wait context only
  /// then: a send that finds its partner waiting never needs one.
  ChanStatus send_or_hold(T& value) noexcept {
    lock_.lock();
    if (closed_.load(std::memory_order_relaxed)) {  // relaxed: under lock_
      lock_.unlock();
      return ChanStatus::closed;
    }
    WaitEntry* r = receivers_.claim_front();
    if (r == nullptr) return ChanStatus::not_ready;
    sync_hint(receivers_, receivers_waiting_);
    lock_.unlock();
    hand_off_to_receiver(*r, value);
    return ChanStatus::ok;
  }
  /// After send_or_hold() returned not_ready: links `e` as a parked sender of `*value`.
  void enroll_sender_locked(WaitEntry& e, T* value) noexcept {
    sync_hint(receivers_, receivers_waiting_);  // claim_first() may have dropped dead ones
    link_parked(e, value, senders_, senders_waiting_);
  }

  /// Unbuffered only, for a plain blocking receive: take a parked sender's value (ok), or
  /// report closed, or return not_ready with the lock held, as send_or_hold() does; the
  /// caller then links itself with enroll_receiver_locked().
  ChanStatus recv_or_hold(std::optional<T>& out) noexcept {
    lock_.lock();
    WaitEntry* s = senders_.claim_front();
    if (s == nullptr) {
      if (closed_.load(std::memory_order_relaxed)) {  // relaxed: under lock_
        sync_hint(senders_, senders_waiting_);
        lock_.unlock();
        return ChanStatus::closed;
      }
      return ChanStatus::not_ready;
    }
    sync_hint(senders_, senders_waiting_);
    lock_.unlock();
    take_from_sender(*s, out);
    return ChanStatus::ok;
  }
  /// After recv_or_hold() returned not_ready: links `e` as a parked receiver into `*out`.
  void enroll_receiver_locked(WaitEntry& e, std::optional<T>* out) noexcept {
    sync_hint(senders_, senders_waiting_);  // claim_first() may have dropped dead ones
    link_parked(e, out, receivers_, receivers_waiting_);
  }

  /// The lock a send_or_hold / recv_or_hold that returned not_ready left held.
  SpinLock& wait_lock() noexcept { return lock_; }

  /// Closes the channel and wakes every parked party. False if it was already closed.
  bool close() noexcept {
    if (ring_) {
      if (!ring_->close()) return false;
      ChanCompletion guard(lock_);
      wake_all(guard, senders_, senders_waiting_);
      wake_all(guard, receivers_, receivers_waiting_);
      return true;
    }
    ChanCompletion guard(lock_);
    if (closed_.load(std::memory_order_relaxed)) return false;  // under lock_
    // release: pairs with the acquire loads in closed(), try_send and try_recv.
    closed_.store(true, std::memory_order_release);
    wake_all(guard, senders_, senders_waiting_);
    wake_all(guard, receivers_, receivers_waiting_);
    return true;
  }

  /// Links `e` as a waiting sender whose value is `*value`. Returns true when the send looks
  /// possible right now (the caller then aborts and retries instead of parking); the entry
  /// may or may not be linked in that case.
  bool enroll_send(WaitEntry& e, T* value) noexcept {
    return enroll(e, value, senders_, senders_waiting_, receivers_);
  }
  /// Links `e` as a waiting receiver that wants its value in `*out`. Returns as enroll_send.
  bool enroll_recv(WaitEntry& e, std::optional<T>* out) noexcept {
    return enroll(e, out, receivers_, receivers_waiting_, senders_);
  }
  /// Buffered flavor: a receiver (sender) woken to retry is leaving without retrying (it is
  /// being unwound); wake the next one in its place. No-op for unbuffered channels.
  void forward_recv_wakeup() noexcept {
    if (ring_) wake_one(receivers_, receivers_waiting_);
  }
  void forward_send_wakeup() noexcept {
    if (ring_) wake_one(senders_, senders_waiting_);
  }
  /// Unlinks `e` if still linked; afterwards no claimer touches it any more.
  void unenroll_send(WaitEntry& e) noexcept { unenroll(e, senders_, senders_waiting_); }
  void unenroll_recv(WaitEntry& e) noexcept { unenroll(e, receivers_, receivers_waiting_); }
  /// For a single-channel context (enroll_sender_locked / enroll_receiver_locked) unwound: claims
  /// it kAborted and unlinks `e`, under the lock as every claim of it is. False if a partner had
  /// claimed it first (its unpark may still be on the way).
  bool abort_send(WaitEntry& e) noexcept { return abort_enrolled(e, senders_, senders_waiting_); }
  bool abort_recv(WaitEntry& e) noexcept {
    return abort_enrolled(e, receivers_, receivers_waiting_);
  }

 private:
  // Unbuffered: a receiver may be parked, or the channel is closed. acquire: pairs with the
  // flag / closed stores under the lock; a stale "nobody" is a receive that has not arrived
  // yet, a valid linearization of a failed try.
  bool receiver_or_close_hint() const noexcept {
    return receivers_waiting_.load(std::memory_order_acquire) ||
           closed_.load(std::memory_order_acquire);
  }
  // Unbuffered: a sender may be parked, or the channel is closed. acquire: as above.
  bool sender_or_close_hint() const noexcept {
    return senders_waiting_.load(std::memory_order_acquire) ||
           closed_.load(std::memory_order_acquire);
  }

  // After try_send's hint said a receiver may be parked, or the channel closed.
  [[gnu::noinline]] ChanStatus try_send_unbuffered(T& value) noexcept {
    WaitEntry* e;
    {
      SpinLockGuard guard(lock_);
      if (closed_.load(std::memory_order_relaxed)) return ChanStatus::closed;  // under lock_
      e = receivers_.claim_first();
      update_flag(receivers_, receivers_waiting_);
      if (e == nullptr) return ChanStatus::not_ready;
    }
    hand_off_to_receiver(*e, value);
    return ChanStatus::ok;
  }

  // After try_recv's hint said a sender may be parked, or the channel closed.
  [[gnu::noinline]] ChanStatus try_recv_unbuffered(std::optional<T>& out) noexcept {
    WaitEntry* e;
    {
      SpinLockGuard guard(lock_);
      e = senders_.claim_first();
      update_flag(senders_, senders_waiting_);
      if (e == nullptr) {
        return closed_.load(std::memory_order_relaxed) ? ChanStatus::closed  // under lock_
                                                       : ChanStatus::not_ready;
      }
    }
    take_from_sender(*e, out);
    return ChanStatus::ok;
  }

  // Under lock_, unbuffered: links `e` as a parked party of `q` whose value is at `packet`.
  static void link_parked(WaitEntry& e, void* packet, ChanWaitQueue& q,
                          std::atomic<bool>& waiting) noexcept {
    e.packet = packet;
    e.result = WaitEntry::kNone;
    q.push_back(e);
    sync_hint(q, waiting);
  }

  // The rest of an unbuffered hand-off, after the lock: `r` is claimed and unlinked, so no
  // one else touches it, and its owner reads packet and result only once unparked (or, when
  // unwinding, once wait_for_claimer() saw the unpark). Outside the lock, the move's write
  // to the partner's stack (a line the other core last wrote) no longer holds up the
  // waiting parties: under it, the unlock store queued behind that miss.
  void hand_off_to_receiver(WaitEntry& r, T& value) noexcept {
    static_cast<std::optional<T>*>(r.packet)->emplace(std::move(value));
    r.result = WaitEntry::kDone;
    unpark_claimed_one(r);
  }
  void take_from_sender(WaitEntry& s, std::optional<T>& out) noexcept {
    out.emplace(std::move(*static_cast<T*>(s.packet)));
    s.result = WaitEntry::kDone;
    unpark_claimed_one(s);
  }

  bool enroll(WaitEntry& e, void* packet, ChanWaitQueue& mine, std::atomic<bool>& mine_waiting,
              const ChanWaitQueue& partners) noexcept {
    e.packet = packet;
    e.result = WaitEntry::kNone;
    {
      SpinLockGuard guard(lock_);
      if (!ring_) {
        // Unbuffered: decided entirely under the lock.
        if (closed_.load(std::memory_order_relaxed)) return true;  // under lock_
        if (partners.has_waiting_peer(e.ctx)) return true;
      }
      mine.push_back(e);
      // The flag store of the flag protocol (see the top of this file) when buffered.
      store_flag(mine_waiting, true);
    }
    if (!ring_) return false;
    // seq_cst loads inside: the ring load of the flag protocol.
    return &mine == &senders_ ? ring_->push_ready() : ring_->pop_ready();
  }

  bool abort_enrolled(WaitEntry& e, ChanWaitQueue& q, std::atomic<bool>& waiting) noexcept {
    SpinLockGuard guard(lock_);
    if (!e.ctx->try_claim(SelectCtx::kAborted)) return false;
    q.remove(e);
    update_flag(q, waiting);
    return true;
  }

  void unenroll(WaitEntry& e, ChanWaitQueue& q, std::atomic<bool>& waiting) noexcept {
    SpinLockGuard guard(lock_);
    q.remove(e);
    update_flag(q, waiting);
  }

  // Wakes one parked party of `q` after a successful ring operation (buffered flavor).
  void wake_one(ChanWaitQueue& q, std::atomic<bool>& waiting) noexcept {
    // seq_cst: the flag load of the flag protocol (see the top of this file).
    if (waiting.load(std::memory_order_seq_cst)) wake_one_locked(q, waiting);
  }
  [[gnu::noinline]] void wake_one_locked(ChanWaitQueue& q, std::atomic<bool>& waiting) noexcept {
    SpinLockGuard guard(lock_);
    if (WaitEntry* e = q.claim_first()) {
      e->result = WaitEntry::kNone;  // woken to retry
      // Unparked under the lock (allowed: see chan_wait.hpp), not after it as hand-offs do:
      // for the buffered flavor, waking after the unlock is the slower order under contention.
      e->ctx->waiter.unpark();
    }
    update_flag(q, waiting);
  }

  // Under `guard`: completes every entry of `q` as closed.
  void wake_all(ChanCompletion& guard, ChanWaitQueue& q, std::atomic<bool>& waiting) noexcept {
    while (WaitEntry* e = q.claim_first()) {
      e->result = WaitEntry::kClosed;
      guard.wake(*e);
    }
    update_flag(q, waiting);
  }

  // Under lock_: sets the flag to whether `q` holds entries, with a store of `order`.
  template <std::memory_order order>
  [[gnu::always_inline]] static void sync_flag(const ChanWaitQueue& q,
                                               std::atomic<bool>& waiting) noexcept {
    const bool now = !q.empty();
    // relaxed load: the flag is only written under lock_, which we hold.
    if (waiting.load(std::memory_order_relaxed) != now) waiting.store(now, order);
  }
  // The unbuffered flavor's sync_flag(), inlined into its plain send and receive (three per
  // hand-off, each as costly as a call). release: see store_flag().
  [[gnu::always_inline]] static void sync_hint(const ChanWaitQueue& q,
                                               std::atomic<bool>& waiting) noexcept {
    sync_flag<std::memory_order_release>(q, waiting);
  }

  // Under lock_.
  void update_flag(const ChanWaitQueue& q, std::atomic<bool>& waiting) noexcept {
    // seq_cst: a flag store of the flag protocol (buffered); release: see store_flag().
    if (ring_) {
      sync_flag<std::memory_order_seq_cst>(q, waiting);
    } else {
      sync_hint(q, waiting);
    }
  }
  void store_flag(std::atomic<bool>& waiting, bool now) noexcept {
    if (ring_) {
      // seq_cst: a flag store of the flag protocol.
      waiting.store(now, std::memory_order_seq_cst);
    } else {
      // release: unbuffered channels decide everything under the lock, and the flag is
      // only try_send / try_recv's hint (their acquire loads pair with this); no Dekker
      // pairing to keep, so no locked instruction (two per hand-off otherwise).
      waiting.store(now, std::memory_order_release);
    }
  }

  std::optional<ChanRing<T>> ring_;
  // Own cache line: the flags below are read after every ring operation and written only
  // when parties park or leave, so they must not share a line with the ring's tail_.
  alignas(64) SpinLock lock_;
  std::atomic<bool> closed_{false};  // unbuffered flavor only (the ring has its closed bit)
  ChanWaitQueue senders_;
  ChanWaitQueue receivers_;
  std::atomic<bool> senders_waiting_{false};
  std::atomic<bool> receivers_waiting_{false};
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
