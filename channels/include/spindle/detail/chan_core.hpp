// SPDX-License-Identifier: Apache-2.0
// The part of a channel that every flavor shares: ChanCore (which flavor it is, the channel
// lock, the wait queues of senders and receivers with their "parked" flags, the closed flag)
// and the waiting steps built on it; ChanState<T>, the core typed by element, which is what
// every handle, select case and blocking operation points to.
//
// Layout: a channel is one object of a flavor type derived from ChanState<T>, chosen by the
// capacity when it is made, and never changed:
//   ChanCore            flavor index, lock, queues, flags, closed flag      (this file)
//   └ ChanState<T>      the element type; a handle's shared_ptr target      (this file)
//     ├ BufferedState<T>    capacity > 0: the lock-free ring               (chan_buffered.hpp)
//     └ UnbufferedState<T>  capacity 0: the direct hand-off                (chan_unbuffered.hpp)
// chan_flavors.hpp lists the flavors and is the one dispatch point: visit_flavor() turns a
// ChanState<T>& into the flavor's own type with one test of the flavor index per flavor
// before the last (the flavor of a channel never changes, so the branch predicts well), and
// every caller reaches a flavor through it. Flavors are not virtual: no vtable load and no
// indirect call on the hot paths, and each flavor's fast path inlines into its caller.
//
// Adding a flavor (an unbounded one, say) is one header, registered in chan_flavors.hpp by
// its #include and its entry in ChanFlavors; nothing else changes. The header defines a
// class template derived from ChanState<T> with what the ChanFlavor concept
// (chan_flavors.hpp) asks for: serves(capacity), the non-blocking operations, close, the
// select side (enrol, unenrol, forward a wake-up), and kClaimCompletes, which says what a
// claim of a parked party of this flavor means and so picks its blocking path in
// chan_blocking.hpp and its select finish: true, the claimer completed the operation (a
// hand-off; the flavor then also provides the locked send_or_hold / recv_or_hold path);
// false, the claimer only woke the party to retry (it then waits through the select engine,
// and its operations wake a parked party with wake_one() below).
//
// Invariants (all flavors):
//   * the queues, the entries' `linked`, claims, and closed_ writes happen only under lock_;
//   * a side's `waiting` flag is written only under lock_ and says whether its queue holds
//     entries (it may be stale towards true: only dead entries left, which costs a lock
//     round trip); the flavor decides the order of its stores: seq_cst where it pairs with a
//     lock-free structure (the buffered flag protocol), release where everything is decided
//     under the lock and the flag is only a hint;
//   * close() wakes every entry linked before it, with WaitEntry::kClosed; a party that
//     enrols after it sees the close and never parks (how, is each flavor's invariant);
//   * a claimed entry's `result` and `packet` belong to its claimer until it unparks the
//     owner (chan_wait.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "spindle/abi.hpp"
#include "spindle/detail/chan_wait.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// A flavor's index in ChanFlavors (chan_flavors.hpp).
using ChanFlavorId = std::uint8_t;

class ChanCore {
  // First, on a line of its own (the lock below starts the next one): read by every
  // operation, written only by the constructor.
  const ChanFlavorId flavor_;

 public:
  ChanCore(const ChanCore&) = delete;
  ChanCore& operator=(const ChanCore&) = delete;

  /// Which flavor the channel is: its index in ChanFlavors.
  ChanFlavorId flavor() const noexcept { return flavor_; }

  /// The lock a hand-off flavor's send_or_hold / recv_or_hold left held when it returned
  /// not_ready (the caller parks with Waiter::park_releasing on it).
  SpinLock& wait_lock() noexcept { return lock_; }

 protected:
  explicit ChanCore(ChanFlavorId flavor) noexcept : flavor_(flavor) {}
  ~ChanCore() = default;

  /// One side of the channel: its parked parties and whether there are any.
  struct Side {
    ChanWaitQueue queue;
    std::atomic<bool> waiting{false};
  };

  // Under lock_: sets the side's flag to whether its queue holds entries, with a store of
  // `order` (the flavor's flag order).
  template <std::memory_order order>
  [[gnu::always_inline]] static void sync_flag(Side& side) noexcept {
    const bool now = !side.queue.empty();
    // relaxed: the flag is only written under lock_, which we hold.
    if (side.waiting.load(std::memory_order_relaxed) != now) side.waiting.store(now, order);
  }

  // Under lock_: links `e` into `side` as a parked party whose value (or room for one) is
  // at `packet`.
  [[gnu::always_inline]] static void link(WaitEntry& e, void* packet, Side& side) noexcept {
    e.packet = packet;
    e.result = WaitEntry::kNone;
    side.queue.push_back(e);
  }

  // Unlinks `e` from `side` if still linked; afterwards no claimer touches it any more.
  template <std::memory_order order>
  void unenroll(WaitEntry& e, Side& side) noexcept {
    SpinLockGuard guard(lock_);
    side.queue.remove(e);
    sync_flag<order>(side);
  }

  // For a single-channel context unwound: claims it kAborted and unlinks `e`, under the lock
  // as every claim of it is. False if a partner had claimed it first (its unpark may still
  // be on the way).
  template <std::memory_order order>
  bool abort_enrolled(WaitEntry& e, Side& side) noexcept {
    SpinLockGuard guard(lock_);
    if (!e.ctx->try_claim(SelectCtx::kAborted)) return false;
    side.queue.remove(e);
    sync_flag<order>(side);
    return true;
  }

  // Under `guard` (which holds lock_): completes every entry of both sides as closed; they
  // are unparked once the guard releases the lock.
  template <std::memory_order order>
  void wake_all_closed(ChanCompletion& guard) noexcept {
    wake_all<order>(guard, senders_);
    wake_all<order>(guard, receivers_);
  }

  // For flavors whose parties are woken to retry: after an operation that may let a parked
  // party of `side` proceed, wakes one. The flag load pairs with the flag store of an
  // enrolling party (the flag protocol, chan_buffered.hpp): seq_cst.
  [[gnu::always_inline]] void wake_one(Side& side) noexcept {
    if (side.waiting.load(std::memory_order_seq_cst)) wake_one_locked(side);
  }

  // Own cache line, away from the flavor index: the lock, the queues and the flags are
  // written whenever parties park or meet.
  alignas(64) SpinLock lock_;
  // For flavors that decide closing under lock_ (the unbuffered one). The buffered flavor
  // keeps its closed bit in the ring's tail word, where a send meets it; this stays false.
  std::atomic<bool> closed_{false};
  Side senders_;
  Side receivers_;

 private:
  [[gnu::noinline]] void wake_one_locked(Side& side) noexcept {
    SpinLockGuard guard(lock_);
    if (WaitEntry* e = side.queue.claim_first()) {
      e->result = WaitEntry::kNone;  // woken to retry
      // Unparked under the lock (allowed: see chan_wait.hpp), not after it as hand-offs do:
      // for the buffered flavor, waking after the unlock is the slower order under contention.
      e->ctx->waiter.unpark();
    }
    // seq_cst: a flag store of the flag protocol.
    sync_flag<std::memory_order_seq_cst>(side);
  }

  template <std::memory_order order>
  static void wake_all(ChanCompletion& guard, Side& side) noexcept {
    while (WaitEntry* e = side.queue.claim_first()) {
      e->result = WaitEntry::kClosed;
      guard.wake(*e);
    }
    sync_flag<order>(side);
  }
};

/// The core of a channel of T: the type every handle, select case and blocking operation
/// refers to. Its flavor (a class derived from it) does the work; reach it through
/// visit_flavor() (chan_flavors.hpp).
template <class T>
class ChanState : public ChanCore {
 public:
  using value_type = T;

 protected:
  using ChanCore::ChanCore;
  ~ChanState() = default;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
