// SPDX-License-Identifier: Apache-2.0
// The unbuffered flavor (capacity 0): UnbufferedState<T>. There is no buffer; a send and a
// receive meet in the core's wait queues (chan_core.hpp), and the one that arrives second
// claims the first under the channel lock, then moves the value directly between the two
// stacks (Go's direct hand-off) after releasing it (kClaimCompletes is true: a claimed party
// wakes with its operation done, or closed). A plain send or receive that arrives first
// enrols under the lock and parks holding it (send_or_hold / recv_or_hold, used by
// chan_blocking.hpp); its worker releases it once the task is switched out
// (Waiter::park_releasing).
//
// Invariants (Go's, restated for this design):
//   * at most one of the two queues holds a live (unclaimed) entry of any one context pair:
//     an arriving party always takes a live partner instead of enqueuing (the exception: one
//     select enqueued on both sides of the same channel, which never matches itself);
//   * everything is decided under the lock: a party enrolling after close() sees closed_
//     there, before linking, and never parks;
//   * the "parked" flags and closed_ are only hints outside the lock, for try_send /
//     try_recv and a select's readiness look: release stores under the lock, acquire loads
//     outside it; a stale "nobody" is a partner that has not arrived yet, a valid
//     linearization of a failed try.
#pragma once

#include <atomic>
#include <cstddef>
#include <optional>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/detail/chan_core.hpp"
#include "spindle/detail/chan_status.hpp"
#include "spindle/detail/chan_wait.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

template <class T>
class UnbufferedState final : public ChanState<T> {
 public:
  /// A claim of a parked party completes its operation (hand-off) or reports the close.
  static constexpr bool kClaimCompletes = true;

  static bool serves(std::size_t capacity) noexcept { return capacity == 0; }

  UnbufferedState(ChanFlavorId id, std::size_t /*capacity*/) noexcept : ChanState<T>(id) {}

  std::size_t capacity() const noexcept { return 0; }
  std::size_t size() const noexcept { return 0; }

  /// A hint that a send would find a parked receiver or the channel closed.
  bool send_may_proceed() const noexcept { return receiver_or_close_hint(); }
  /// A hint that a receive would find a parked sender or the channel closed.
  bool recv_may_proceed() const noexcept { return sender_or_close_hint(); }

  /// Non-blocking send: moves from `value` only when it returns ok.
  ChanStatus try_send(T& value) noexcept {
    // The hint test inline: a select polls every case, and most find nobody (a call each).
    if (!receiver_or_close_hint()) return ChanStatus::not_ready;
    return try_send_locked(value);
  }
  /// Non-blocking receive: fills `out` only when it returns ok.
  ChanStatus try_recv(std::optional<T>& out) noexcept {
    if (!sender_or_close_hint()) return ChanStatus::not_ready;  // inline, as in try_send
    return try_recv_locked(out);
  }

  /// For a plain blocking send: takes the lock and, in one locked step, hands `value` to a
  /// parked receiver (ok) or reports closed, releasing it; or returns not_ready with the lock
  /// still held, and the caller links itself with enroll_sender_locked() and parks with
  /// Waiter::park_releasing(wait_lock()), which releases it once the task is off its stack.
  /// The caller builds its wait context only then: a send that finds its partner waiting
  /// never needs one.
  ChanStatus send_or_hold(T& value) noexcept {
    this->lock_.lock();
    if (this->closed_.load(std::memory_order_relaxed)) {  // relaxed: under lock_
      this->lock_.unlock();
      return ChanStatus::closed;
    }
    WaitEntry* r = this->receivers_.queue.claim_front();
    if (r == nullptr) return ChanStatus::not_ready;
    sync_hint(this->receivers_);
    this->lock_.unlock();
    hand_off_to_receiver(*r, value);
    return ChanStatus::ok;
  }
  /// After send_or_hold() returned not_ready: links `e` as a parked sender of `*value`.
  void enroll_sender_locked(WaitEntry& e, T* value) noexcept {
    sync_hint(this->receivers_);  // claim_first() may have dropped dead ones
    link_parked(e, value, this->senders_);
  }

  /// For a plain blocking receive: take a parked sender's value (ok), or report closed, or
  /// return not_ready with the lock held, as send_or_hold() does; the caller then links
  /// itself with enroll_receiver_locked().
  ChanStatus recv_or_hold(std::optional<T>& out) noexcept {
    this->lock_.lock();
    WaitEntry* s = this->senders_.queue.claim_front();
    if (s == nullptr) {
      if (this->closed_.load(std::memory_order_relaxed)) {  // relaxed: under lock_
        sync_hint(this->senders_);
        this->lock_.unlock();
        return ChanStatus::closed;
      }
      return ChanStatus::not_ready;
    }
    sync_hint(this->senders_);
    this->lock_.unlock();
    take_from_sender(*s, out);
    return ChanStatus::ok;
  }
  /// After recv_or_hold() returned not_ready: links `e` as a parked receiver into `*out`.
  void enroll_receiver_locked(WaitEntry& e, std::optional<T>* out) noexcept {
    sync_hint(this->senders_);  // claim_first() may have dropped dead ones
    link_parked(e, out, this->receivers_);
  }

  /// For a context of enroll_sender_locked / enroll_receiver_locked unwound: claims it
  /// kAborted and unlinks `e`. False if a partner had claimed it first (its unpark may still
  /// be on the way).
  bool abort_send(WaitEntry& e) noexcept {
    // release: the flag order of this flavor (see the top of this file).
    return this->template abort_enrolled<std::memory_order_release>(e, this->senders_);
  }
  bool abort_recv(WaitEntry& e) noexcept {
    // release: as above.
    return this->template abort_enrolled<std::memory_order_release>(e, this->receivers_);
  }

  /// Closes the channel and wakes every parked party. False if it was already closed.
  bool close() noexcept {
    ChanCompletion guard(this->lock_);
    if (this->closed_.load(std::memory_order_relaxed)) return false;  // relaxed: under lock_
    // release: pairs with the acquire loads of the hints (try_send, try_recv, the select's
    // readiness look).
    this->closed_.store(true, std::memory_order_release);
    // release: the flag order of this flavor.
    this->template wake_all_closed<std::memory_order_release>(guard);
    return true;
  }

  /// Links `e` as a waiting sender whose value is `*value`, unless the send looks possible
  /// right now (a live receiver of another context, or closed): then it returns true
  /// without linking, and the caller aborts and retries instead of parking.
  bool enroll_send(WaitEntry& e, T* value) noexcept {
    return enroll(e, value, this->senders_, this->receivers_.queue);
  }
  /// Links `e` as a waiting receiver that wants its value in `*out`. Returns as enroll_send.
  bool enroll_recv(WaitEntry& e, std::optional<T>* out) noexcept {
    return enroll(e, out, this->receivers_, this->senders_.queue);
  }
  /// Unlinks `e` if still linked; afterwards no claimer touches it any more.
  void unenroll_send(WaitEntry& e) noexcept {
    // release: the flag order of this flavor.
    this->template unenroll<std::memory_order_release>(e, this->senders_);
  }
  void unenroll_recv(WaitEntry& e) noexcept {
    // release: as above.
    this->template unenroll<std::memory_order_release>(e, this->receivers_);
  }
  /// A claim carries its result here: nothing to hand on.
  void forward_send_wakeup() noexcept {}
  void forward_recv_wakeup() noexcept {}

 private:
  using Side = typename ChanState<T>::Side;

  // A receiver may be parked, or the channel is closed. acquire: pairs with the flag /
  // closed stores under the lock (see the top of this file).
  bool receiver_or_close_hint() const noexcept {
    return this->receivers_.waiting.load(std::memory_order_acquire) ||
           this->closed_.load(std::memory_order_acquire);
  }
  // A sender may be parked, or the channel is closed. acquire: as above.
  bool sender_or_close_hint() const noexcept {
    return this->senders_.waiting.load(std::memory_order_acquire) ||
           this->closed_.load(std::memory_order_acquire);
  }

  // Under lock_: this flavor's flag update, inlined into its plain send and receive (three
  // per hand-off, each as costly as a call). release: the flag is only the hint of try_send /
  // try_recv (their acquire loads pair with it); no Dekker pairing to keep, so no locked
  // instruction (two per hand-off otherwise).
  [[gnu::always_inline]] static void sync_hint(Side& side) noexcept {
    ChanState<T>::template sync_flag<std::memory_order_release>(side);
  }

  // After try_send's hint said a receiver may be parked, or the channel closed.
  [[gnu::noinline]] ChanStatus try_send_locked(T& value) noexcept {
    WaitEntry* e;
    {
      SpinLockGuard guard(this->lock_);
      // relaxed: under lock_.
      if (this->closed_.load(std::memory_order_relaxed)) return ChanStatus::closed;
      e = this->receivers_.queue.claim_first();
      sync_hint(this->receivers_);
      if (e == nullptr) return ChanStatus::not_ready;
    }
    hand_off_to_receiver(*e, value);
    return ChanStatus::ok;
  }

  // After try_recv's hint said a sender may be parked, or the channel closed.
  [[gnu::noinline]] ChanStatus try_recv_locked(std::optional<T>& out) noexcept {
    WaitEntry* e;
    {
      SpinLockGuard guard(this->lock_);
      e = this->senders_.queue.claim_first();
      sync_hint(this->senders_);
      if (e == nullptr) {
        // relaxed: under lock_.
        return this->closed_.load(std::memory_order_relaxed) ? ChanStatus::closed
                                                             : ChanStatus::not_ready;
      }
    }
    take_from_sender(*e, out);
    return ChanStatus::ok;
  }

  // Under lock_: links `e` as a parked party of `side` whose value is at `packet`.
  static void link_parked(WaitEntry& e, void* packet, Side& side) noexcept {
    ChanState<T>::link(e, packet, side);
    sync_hint(side);
  }

  // The rest of a hand-off, after the lock: `r` is claimed and unlinked, so no one else
  // touches it, and its owner reads packet and result only once unparked (or, when
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

  bool enroll(WaitEntry& e, void* packet, Side& mine, const ChanWaitQueue& partners) noexcept {
    SpinLockGuard guard(this->lock_);
    // relaxed: under lock_.
    if (this->closed_.load(std::memory_order_relaxed)) return true;
    if (partners.has_waiting_peer(e.ctx)) return true;
    ChanState<T>::link(e, packet, mine);
    // release: the flag order of this flavor (see sync_hint()).
    mine.waiting.store(true, std::memory_order_release);
    return false;
  }
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
