// SPDX-License-Identifier: Apache-2.0
// The lock-free bounded buffer of a buffered channel: a ring of `capacity` slots, each with a
// sequence stamp, indexed by two ever-growing 64-bit positions (Vyukov's bounded MPMC queue,
// with a closed bit in the tail word as in crossbeam's array flavor).
//
// Positions are encoded so that finding a slot never divides: with lap_ the smallest power
// of two >= capacity, position p names slot `p & (lap_ - 1)` of lap `p / lap_`, and the
// position after the last slot of a lap is the first slot of the next (next() skips the
// unused indices capacity..lap_-1). Encoded positions still grow monotonically, and
// "the same slot one lap later" is always p + lap_. A divide by a runtime capacity costs
// tens of cycles, a large share of a send that is otherwise a few loads and stores.
//
// head_ = position of the next receive; tail_ = (position of the next send << 1) | the closed
// bit.
//
// Stamps (even: empty, odd: full), for the slot of position p:
//   2p            empty, waiting for the send at position p
//   2p + 1        holds the value sent at position p, waiting for the receive at p
//   2(p + lap_)   after the receive at p: empty, waiting for the send one lap later.
// Scaling by two keeps "full at p" and "empty for the next position" apart when capacity is 1.
//
// Invariants:
//   * head <= tail position <= head + lap_ (that is: between 0 and capacity values buffered);
//   * a sender owns slot p between its CAS of tail_ (p -> next(p)) and its release store of
//     stamp 2p + 1; a receiver owns it between its CAS of head_ and its store of 2(p + lap_);
//   * once the closed bit is set the tail position never moves again.
//
// Memory orders:
//   * stamp release store (writer) pairs with the stamp acquire load of the next owner, so
//     a value's construction happens-before its receipt (send hb receive), and a receipt
//     happens-before the send that reuses the slot (k-th receive hb (k+C)-th send completes);
//   * the head_/tail_ RMWs and the readiness loads are seq_cst: the buffered flavor's wait
//     protocol (chan_buffered.hpp) relies on them being in one total order with its
//     "parked" flags.
//
// Bias (one-worker runtimes): a ring made on the worker thread of a runtime with a single
// worker starts out owned by that thread (bias_ = its tag, t_solo_worker_tag). While it is,
// only the owner touches it and does so with plain loads and stores, no CAS: its tasks never
// interleave inside an operation, so no slot is ever mid-way and "not empty for p" means
// full. The first operation from any other thread revokes the bias for good
// (ring_make_shared): it marks the ring revoking, fences every thread (process_fence), waits
// for the owner to leave an operation it may be in (busy_), then marks it shared; from then
// on everybody, the owner too, uses the CAS protocol above. The owner raises busy_ before it
// looks at bias_ again, so the fence finds it either done, inside (busy_ seen), or not yet
// in (it then sees the revocation): an asymmetric Dekker pairing, as in the runnext slot.
// Without process_fence() (no membarrier) no ring is biased.
//
// Progress: try_push/try_pop never block on a lock; when a slot is owned by a sender or
// receiver that has claimed its position but not yet published its stamp (a few
// instructions), the other side spins for it, as in every Vyukov-style array queue.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/detail/chan_status.hpp"
#include "spindle/detail/solo_worker.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Revokes a ring's bias, or waits for the thread doing so (chan_ring.hpp, "Bias").
void ring_make_shared(std::atomic<const void*>& bias,
                      const std::atomic<std::uint32_t>& busy) noexcept;

template <class T>
class ChanRing {
 public:
  /// Largest capacity a buffered channel accepts (encoded positions need headroom in 64 bits).
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 40;

  /// `capacity` in [1, kMaxCapacity]; the channel handle checks it.
  explicit ChanRing(std::size_t capacity)
      : cap_(capacity),
        lap_(std::bit_ceil(capacity)),
        slots_(std::make_unique<Slot[]>(capacity)),
        bias_(t_solo_worker_tag) {
    for (std::size_t i = 0; i < cap_; ++i) {
      // relaxed: construction; the ring is published to other threads by the handle.
      slots_[i].stamp.store(2 * i, std::memory_order_relaxed);
    }
  }
  ChanRing(const ChanRing&) = delete;
  ChanRing& operator=(const ChanRing&) = delete;

  /// Destroys the values still buffered (only the last handle's owner runs this).
  ~ChanRing() {
    // relaxed: no other thread can touch the ring any more.
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed) >> 1;
    for (std::uint64_t p = head_.load(std::memory_order_relaxed); p < tail; p = next(p)) {
      slot(p).value()->~T();
    }
  }

  std::size_t capacity() const noexcept { return cap_; }

  /// Moves `value` into the ring if there is room; `value` is untouched otherwise.
  ChanStatus try_push(T& value) noexcept {
    if (biased()) return push_biased(value);
    // One attempt inline; a full ring, a close, a slot still owned by a receiver or a CAS
    // lost to another sender go out of line (push_slow), so the path that succeeds keeps
    // no retry state in registers.
    // relaxed: a first guess; the CAS below validates it.
    std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if ((tail & kClosedBit) == 0) {
      const std::uint64_t pos = tail >> 1;
      Slot& s = slot(pos);
      // acquire: pairs with the receiver's release of 2(pos): the old value is gone.
      if (s.stamp.load(std::memory_order_acquire) == 2 * pos && push_at(s, tail, value)) {
        return ChanStatus::ok;
      }
    }
    return push_slow(value);
  }

  /// Moves the oldest value into `out` if there is one.
  ChanStatus try_pop(std::optional<T>& out) noexcept {
    if (biased()) return pop_biased(out);
    // One attempt inline, as in try_push(); an empty ring, a slot whose sender is mid-way and
    // a CAS lost to another receiver go to pop_slow.
    // relaxed: a first guess; the CAS below validates it.
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    Slot& s = slot(head);
    // acquire: pairs with the sender's release of 2(head) + 1: the value is constructed.
    if (s.stamp.load(std::memory_order_acquire) == 2 * head + 1 && pop_at(s, head, out)) {
      return ChanStatus::ok;
    }
    return pop_slow(out);
  }

  /// Sets the closed bit. False if it was already set.
  bool close() noexcept {
    if (biased() && enter_owned()) {
      // relaxed: only this thread touches the ring; leave_owned() publishes the bit.
      const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
      tail_.store(tail | kClosedBit, std::memory_order_relaxed);  // relaxed: as above
      leave_owned();
      return (tail & kClosedBit) == 0;
    }
    // seq_cst: orders the close before the wake-ups that follow it and against every tail
    // CAS (a send either lands before the close or sees the bit).
    return (tail_.fetch_or(kClosedBit, std::memory_order_seq_cst) & kClosedBit) == 0;
  }

  bool closed() const noexcept {
    share_unless_owner();
    // acquire: pairs with close(); whoever sees the bit sees what preceded the close.
    return (tail_.load(std::memory_order_acquire) & kClosedBit) != 0;
  }

  /// Values buffered right now (a snapshot).
  std::size_t size() const noexcept {
    share_unless_owner();
    // relaxed: a snapshot for size(); head first so that tail >= head.
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed) >> 1;
    if (tail <= head) return 0;
    const unsigned shift = static_cast<unsigned>(std::countr_zero(lap_));
    const std::uint64_t n =
        ((tail >> shift) - (head >> shift)) * cap_ + (tail & (lap_ - 1)) - (head & (lap_ - 1));
    return n > cap_ ? cap_ : static_cast<std::size_t>(n);
  }

  /// Whether the ring is owned by one thread (or a revocation is under way): "Bias" above.
  bool biased() const noexcept {
    // acquire: pairs with the release that ends a revocation; the owner's plain writes are
    // then visible to whoever sees the ring shared.
    return bias_.load(std::memory_order_acquire) != nullptr;
  }

  /// A receive would not find the ring empty and open (a value, a sender mid-way, or closed).
  bool pop_ready() const noexcept {
    share_unless_owner();
    const std::uint64_t head = head_.load(std::memory_order_seq_cst);
    const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
    return (tail & kClosedBit) != 0 || (tail >> 1) != head;
  }

  /// A send would not find the ring full and open (room, a receiver mid-way, or closed).
  bool push_ready() const noexcept {
    share_unless_owner();
    const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
    const std::uint64_t head = head_.load(std::memory_order_seq_cst);
    return (tail & kClosedBit) != 0 || head + lap_ > (tail >> 1);
  }

 private:
  static constexpr std::uint64_t kClosedBit = 1;
  // The slow paths wait 8 pauses before their first retry, then 16, 32 ... 512, then yield
  // the thread. What they wait for is on another core: the stamp of a slot that a party
  // has claimed but not yet published, or a position line another party of the same side
  // just won. Neither shows up here before its line has crossed between cores, and polling
  // sooner pulls the line back and delays the very store awaited. So the first wait is
  // about one cross-core trip of a cache line, and the waits grow from there; retrying at
  // once, or after a single pause, only adds to the traffic. On one worker nobody is ever
  // mid-way (tasks are not preempted) and no CAS is lost, so nothing waits.
  static constexpr int kRetryFirstStep = 3;

  struct Slot {
    std::atomic<std::uint64_t> stamp{0};
    alignas(T) unsigned char storage[sizeof(T)];
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  Slot& slot(std::uint64_t pos) noexcept { return slots_[pos & (lap_ - 1)]; }

  // Claims the position `tail` encodes, whose slot `s` was found empty for it, and moves
  // `value` in. False if another sender moved tail_ first; `tail` then holds its new value.
  [[gnu::always_inline]] bool push_at(Slot& s, std::uint64_t& tail, T& value) noexcept {
    const std::uint64_t pos = tail >> 1;
    // seq_cst: claims position pos; part of the total order the wait protocol needs.
    if (!tail_.compare_exchange_weak(tail, next(pos) << 1, std::memory_order_seq_cst,
                                     std::memory_order_relaxed)) {
      return false;
    }
    ::new (static_cast<void*>(s.storage)) T(std::move(value));
    // release: pairs with the receiver's acquire load of the stamp.
    s.stamp.store(2 * pos + 1, std::memory_order_release);
    return true;
  }

  // Claims position `head`, whose slot `s` was found full for it, and moves the value out.
  // False if another receiver moved head_ first; `head` then holds its new value.
  [[gnu::always_inline]] bool pop_at(Slot& s, std::uint64_t& head, std::optional<T>& out) noexcept {
    const std::uint64_t pos = head;
    // seq_cst: claims position pos; part of the wait protocol's total order.
    if (!head_.compare_exchange_weak(head, next(pos), std::memory_order_seq_cst,
                                     std::memory_order_relaxed)) {
      return false;
    }
    T* v = s.value();
    out.emplace(std::move(*v));
    v->~T();
    // release: pairs with the acquire load of the sender one lap later.
    s.stamp.store(2 * (pos + lap_), std::memory_order_release);
    return true;
  }

  [[gnu::noinline, gnu::cold]] ChanStatus push_slow(T& value) noexcept {
    SpinBackoff backoff(kRetryFirstStep);
    // relaxed: a first guess; the CAS below validates it.
    std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    for (;;) {
      if (tail & kClosedBit) return ChanStatus::closed;
      const std::uint64_t pos = tail >> 1;
      Slot& s = slot(pos);
      // acquire: pairs with the receiver's release of 2(pos): the old value is gone.
      const std::uint64_t stamp = s.stamp.load(std::memory_order_acquire);
      if (stamp == 2 * pos) {
        if (push_at(s, tail, value)) return ChanStatus::ok;
        backoff.pause();  // lost to another sender
        continue;         // the failed CAS reloaded tail
      }
      if (stamp + 2 * lap_ == 2 * pos + 1) {
        // The slot still holds the value sent one lap ago: full, or its receiver is mid-way.
        // seq_cst: a readiness load of the wait protocol (see chan_buffered.hpp).
        if (head_.load(std::memory_order_seq_cst) + lap_ == pos) return ChanStatus::not_ready;
      }
      backoff.pause();
      // relaxed: retry with a fresh guess.
      tail = tail_.load(std::memory_order_relaxed);
    }
  }

  [[gnu::noinline, gnu::cold]] ChanStatus pop_slow(std::optional<T>& out) noexcept {
    SpinBackoff backoff(kRetryFirstStep);
    // relaxed: a first guess; the CAS below validates it.
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    for (;;) {
      Slot& s = slot(head);
      // acquire: pairs with the sender's release of 2(head) + 1: the value is constructed.
      const std::uint64_t stamp = s.stamp.load(std::memory_order_acquire);
      if (stamp == 2 * head + 1) {
        if (pop_at(s, head, out)) return ChanStatus::ok;
        backoff.pause();  // lost to another receiver
        continue;         // the failed CAS reloaded head
      }
      if (stamp == 2 * head) {
        // Empty at this position: nothing sent yet, or its sender is mid-way.
        // seq_cst: a readiness load of the wait protocol; also acquires the close.
        const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
        if ((tail >> 1) == head) {
          return (tail & kClosedBit) ? ChanStatus::closed : ChanStatus::not_ready;
        }
      }
      backoff.pause();
      // relaxed: retry with a fresh guess.
      head = head_.load(std::memory_order_relaxed);
    }
  }

  // True on the owner's thread. Anywhere else it makes the ring shared first (or waits for
  // the thread doing so) and returns false: the caller then uses the shared protocol.
  bool owner_here(const void* tag) const noexcept {
    // relaxed: compared with this thread's own tag only; the revoker's mark never matches.
    if (tag != nullptr && bias_.load(std::memory_order_relaxed) == tag) return true;
    ring_make_shared(bias_, busy_);
    return false;
  }

  // The owner's half of the handshake: true when this thread owns the ring and may use
  // plain accesses until leave_owned(); false as owner_here().
  bool enter_owned() const noexcept {
    const void* tag = t_solo_worker_tag;
    if (!owner_here(tag)) return false;
    // relaxed: kept before the load below on this thread by the signal fence, and made
    // visible to a revoker whose mark the load misses by the revoker's process_fence().
    busy_.store(1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    // relaxed: a revocation's mark seen here sends this thread to the shared protocol,
    // whose RMWs and acquire loads order it after the revoker.
    if (bias_.load(std::memory_order_relaxed) == tag) [[likely]]
      return true;
    busy_.store(0, std::memory_order_release);  // release: pairs with the revoker's wait
    ring_make_shared(bias_, busy_);
    return false;
  }
  void leave_owned() const noexcept {
    // release: pairs with the revoker's acquire wait on busy_; it then sees this access.
    busy_.store(0, std::memory_order_release);
  }
  // The readers: the owner reads its own writes; anyone else makes the ring shared first,
  // so that it never reads positions the owner wrote with plain stores unordered.
  void share_unless_owner() const noexcept {
    if (biased()) (void)owner_here(t_solo_worker_tag);
  }

  // Out of line, so that the shared fast path stays small enough to inline into its callers
  // (one call per operation for the owner, against the CAS it saves).
  [[gnu::noinline]] ChanStatus push_biased(T& value) noexcept {
    if (!enter_owned()) return push_slow(value);  // shared from now on
    const ChanStatus st = push_owned(value);
    leave_owned();
    return st;
  }
  [[gnu::noinline]] ChanStatus pop_biased(std::optional<T>& out) noexcept {
    if (!enter_owned()) return pop_slow(out);  // shared from now on
    const ChanStatus st = pop_owned(out);
    leave_owned();
    return st;
  }

  // The owner's send: no other thread touches the ring and no operation of the owner's is
  // ever interrupted by another, so the slot of the tail position is either empty for it or
  // still holds the value of one lap ago (full). Plain accesses throughout (relaxed).
  ChanStatus push_owned(T& value) noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail & kClosedBit) return ChanStatus::closed;
    const std::uint64_t pos = tail >> 1;
    Slot& s = slot(pos);
    if (s.stamp.load(std::memory_order_relaxed) != 2 * pos) return ChanStatus::not_ready;
    ::new (static_cast<void*>(s.storage)) T(std::move(value));
    s.stamp.store(2 * pos + 1, std::memory_order_relaxed);
    tail_.store(next(pos) << 1, std::memory_order_relaxed);
    return ChanStatus::ok;
  }

  // The owner's receive: as push_owned(); the head slot is either full for it or empty.
  ChanStatus pop_owned(std::optional<T>& out) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    Slot& s = slot(head);
    if (s.stamp.load(std::memory_order_relaxed) != 2 * head + 1) {
      const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
      return (tail & kClosedBit) ? ChanStatus::closed : ChanStatus::not_ready;
    }
    T* v = s.value();
    out.emplace(std::move(*v));
    v->~T();
    s.stamp.store(2 * (head + lap_), std::memory_order_relaxed);
    head_.store(next(head), std::memory_order_relaxed);
    return ChanStatus::ok;
  }

  // The position after `pos`: the next slot, or the first slot of the next lap.
  std::uint64_t next(std::uint64_t pos) const noexcept {
    return (pos & (lap_ - 1)) + 1 < cap_ ? pos + 1 : (pos & ~(lap_ - 1)) + lap_;
  }

  const std::size_t cap_;
  const std::uint64_t lap_;
  std::unique_ptr<Slot[]> slots_;
  // Read by every operation, written once (revocation): beside the read-only fields. busy_
  // is written by the owner only, and only while the ring is biased.
  mutable std::atomic<const void*> bias_;
  mutable std::atomic<std::uint32_t> busy_{0};
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> tail_{0};
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
