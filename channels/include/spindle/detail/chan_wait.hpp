// SPDX-License-Identifier: Apache-2.0
// Waiting on channels: one SelectCtx per blocked operation, one WaitEntry per channel it
// waits on, and the intrusive ChanWaitQueue each channel keeps its entries in.
//
// A blocked send, receive or select owns one SelectCtx (on its stack) and links one
// WaitEntry per case into the wait queue of that case's channel. Whoever wants to complete
// a waiting operation (a sender finding a waiting receiver, a close, a notification that the
// buffer changed) must first *claim* the context: one CAS of `state` from kWaiting to the
// index of the case it completes. Exactly one party wins, so a select that waits on many
// channels is completed exactly once; every other party sees the CAS fail and treats the
// entry as dead. The owner itself may claim its context with kAborted to stop waiting.
//
// Invariants (all under the lock of the channel that holds the queue):
//   * an entry is in at most one queue, and `linked` says whether it is;
//   * whoever claims a context through an entry unlinks that entry under the lock, then fills
//     in `result` (and the packet) and calls waiter.unpark(), under the lock or after it: an
//     unbuffered hand-off moves the value and unparks after releasing it (as does close, through
//     ChanCompletion); the move writes to a line of the partner's stack, the unpark (a CAS or
//     two, a push onto a run queue, maybe a futex wake) is the longest step, and the lock is
//     what the other parties spin on. A claimed, unlinked entry is the claimer's alone until
//     the unpark: an owner learns it was completed only through that unpark, so it touches
//     nothing before. One that stops waiting for another reason (unwinding) claims itself with
//     kAborted; if that fails, a claimer is between its unlock and its unpark, and the owner waits
//     for the unpark (wait_for_claimer()) before its stack may go (this is what makes unwinding a
//     parked task safe);
//   * dead entries (context claimed through another channel, or aborted) may be unlinked by
//     anyone holding the lock; the owner unlinks whatever is still linked when it wakes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "spindle/abi.hpp"
#include "spindle/detail/intrusive_list.hpp"
#include "spindle/detail/spin_lock.hpp"
#include "spindle/detail/waiter.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// The shared fate of one blocked operation (a send, a receive, or a whole select).
struct SelectCtx {
  /// `kind` and `channel` describe the wait for diagnostics (Runtime::tasks()).
  /// `one_channel`: a plain send or receive on one unbuffered channel, whose claims (the
  /// partners' and the owner's own abort) all happen under that channel's lock.
  SelectCtx(WaitKind kind, const void* channel, bool one_channel = false) noexcept
      : single_channel(one_channel), waiter(kind, channel, /*single_waker=*/true) {}
  SelectCtx(const SelectCtx&) = delete;
  SelectCtx& operator=(const SelectCtx&) = delete;

  static constexpr std::uint32_t kWaiting = 0xffff'ffffu;  ///< nobody has claimed it yet
  static constexpr std::uint32_t kAborted = 0xffff'fffeu;  ///< the owner gave up waiting

  /// Claims the context for case `value` (or kAborted). True for exactly one caller.
  bool try_claim(std::uint32_t value) noexcept {
    if (single_channel) {
      // relaxed: every claim of this context is made under the one channel's lock, which
      // orders them; no locked instruction needed (one per hand-off otherwise).
      if (state.load(std::memory_order_relaxed) != kWaiting) return false;
      state.store(value, std::memory_order_relaxed);  // relaxed: as above
      return true;
    }
    std::uint32_t expected = kWaiting;
    // acq_rel: the winner acquires the owner's enrolment (packet pointers written before the
    // entry was linked, also ordered by the channel lock) and releases nothing yet; the
    // owner learns the outcome through Waiter::park()'s acquire, or through its own CAS.
    return state.compare_exchange_strong(expected, value, std::memory_order_acq_rel,
                                         std::memory_order_acquire);
  }
  /// After a failed try_claim(kAborted): waits until the winner's unpark() has landed (it is
  /// a few instructions past its unlock), so the context can be destroyed.
  void wait_for_claimer() const noexcept {
    SpinBackoff backoff;
    while (!waiter.notified()) backoff.pause();
  }

  /// True while no one has claimed the context (a hint; only try_claim() decides).
  bool waiting() const noexcept {
    // acquire: pairs with the acq_rel claim; a stale kWaiting only costs a failed claim later.
    return state.load(std::memory_order_acquire) == kWaiting;
  }

  const bool single_channel;
  std::atomic<std::uint32_t> state{kWaiting};
  Waiter waiter;
};

/// One case of a blocked operation, linked into one channel's wait queue.
struct WaitEntry {
  enum Result : std::uint8_t {
    kNone,    ///< not completed by a claimer (woken to retry, or not woken)
    kDone,    ///< unbuffered hand-off done: the value was moved out of / into the packet
    kClosed,  ///< the channel was closed while waiting
  };

  SelectCtx* ctx = nullptr;
  std::uint32_t case_index = 0;
  /// Unbuffered channels only: the sender's T* (value to take) or the receiver's
  /// std::optional<T>* (where to put the value). Unused by buffered channels.
  void* packet = nullptr;
  Result result = kNone;  // written by the claimer once it has claimed, before unpark()
  bool linked = false;    // guarded by the lock of the channel whose queue holds the entry
  /// Links in a ChanWaitQueue while `linked`; once claimed and unlinked, `links.next` chains
  /// the entries a ChanCompletion unparks.
  ListLinks<WaitEntry> links;
};

/// Unparks the owners of a list of claimed entries chained through `links.next` (out of line: it
/// is the slow part of a hand-off, and inlined it crowds the buffered fast paths).
void unpark_claimed(WaitEntry* first) noexcept;

/// Tests only: when set, unpark_claimed() calls it first, i.e. with the partners claimed and
/// the channel lock released but nobody unparked yet (the window wait_for_claimer() covers).
extern std::atomic<void (*)()> g_before_hand_off_unpark;

/// unpark_claimed() for the one entry of a hand-off (no list to walk, no call to make).
inline void unpark_claimed_one(WaitEntry& e) noexcept {
  // relaxed: as in unpark_claimed().
  if (auto hook = g_before_hand_off_unpark.load(std::memory_order_relaxed)) [[unlikely]]
    hook();
  e.ctx->waiter.unpark();
}

/// Holds a channel's lock, collects the entries claimed under it, and on destruction
/// releases the lock and then unparks them, in the order they were claimed.
class ChanCompletion {
 public:
  explicit ChanCompletion(SpinLock& lock) noexcept : lock_(lock) { lock_.lock(); }
  ChanCompletion(const ChanCompletion&) = delete;
  ChanCompletion& operator=(const ChanCompletion&) = delete;
  ~ChanCompletion() {
    lock_.unlock();
    if (first_ != nullptr) unpark_claimed(first_);
  }
  /// `e` was claimed and unlinked, its result (and packet) filled in: unpark it on release.
  /// Its links are free now (unlinked entries are never walked): `links.next` chains the list.
  void wake(WaitEntry& e) noexcept {
    e.links.next = nullptr;
    (last_ != nullptr ? last_->links.next : first_) = &e;
    last_ = &e;
  }

 private:
  SpinLock& lock_;
  WaitEntry* first_ = nullptr;
  WaitEntry* last_ = nullptr;
};

/// FIFO of WaitEntries; every member function must be called under the channel lock.
class ChanWaitQueue {
  using List = IntrusiveList<WaitEntry, &WaitEntry::links>;

 public:
  bool empty() const noexcept { return list_.empty(); }
  WaitEntry* front() const noexcept { return list_.front(); }

  /// Links `e`, which is in no queue.
  void push_back(WaitEntry& e) noexcept {
    list_.push_back(e);
    e.linked = true;
  }

  /// Unlinks `e` if it is linked (then it is in this queue: its channel's).
  void remove(WaitEntry& e) noexcept {
    if (!e.linked) return;
    list_.remove(e);
    e.linked = false;
  }

  /// Claims the first waiting entry whose context is not `self`, unlinking it and every dead
  /// entry met on the way. Returns nullptr if none could be claimed. The caller completes the
  /// entry (packet, result) and unparks it before releasing the lock.
  WaitEntry* claim_first(const SelectCtx* self = nullptr) noexcept {
    WaitEntry* e = list_.front();
    while (e != nullptr) {
      WaitEntry* next = List::next(*e);
      if (e->ctx != self) {
        if (e->ctx->try_claim(e->case_index)) {
          remove(*e);
          return e;
        }
        remove(*e);  // dead: claimed through another channel, or aborted by its owner
      }
      e = next;
    }
    return nullptr;
  }

  /// claim_first() with no `self`, its common case inline: the first entry is waiting and
  /// claims (a call less per hand-off, and no list walk).
  [[gnu::always_inline]] WaitEntry* claim_front() noexcept {
    WaitEntry* e = list_.front();
    if (e == nullptr) return nullptr;
    if (!e->ctx->try_claim(e->case_index)) [[unlikely]]
      return claim_first();  // dead entries first: the walk unlinks them
    remove(*e);
    return e;
  }

  /// True if some entry of another context is still waiting (a readiness hint for enrol).
  bool has_waiting_peer(const SelectCtx* self) const noexcept {
    for (WaitEntry* e = list_.front(); e != nullptr; e = List::next(*e)) {
      if (e->ctx != self && e->ctx->waiting()) return true;
    }
    return false;
  }

 private:
  List list_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
