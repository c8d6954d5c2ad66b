// SPDX-License-Identifier: Apache-2.0
// A worker's runnext slot: the one task that runs next on it, ahead of its deque (the task a
// message just woke, so that it runs beside its partner). The owner pushes and takes on every
// message; thieves (idle workers) take a task left there too long.
//
// Three modes, fixed when the worker starts:
//   * solo: the runtime's only worker; no thief exists, every access is plain;
//   * plain: the owner's accesses are plain loads and stores, and a thief goes through a
//     handshake (asymmetric, like the claims of parked fibers: the rare side pays a
//     process_fence() so that the hot side pays no locked instruction). The owner raises
//     `busy_` around each access and checks `steal_`; a thief raises `steal_`, fences every
//     thread, waits for `busy_` to drop, then exchanges. The fence lands on the owner's
//     thread before, inside or after an access: before, the owner sees the request and
//     exchanges too; inside or after, the thief sees `busy_` raised (or the access done);
//   * exchange: where process_fence() is not offered, every access is an exchange.
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/process_fence.hpp"
#include "spindle/abi.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Fiber;

class RunnextSlot {
 public:
  enum class Mode : std::uint8_t { solo, plain, exchange };
  struct NoSeam {
    void operator()() const noexcept {}
  };

  /// Before the owner's thread starts.
  void set_mode(Mode m) noexcept { mode_ = m; }
  Mode mode() const noexcept { return mode_; }

  /// Owner: puts `f` in the slot; returns what was there (nullptr if nothing). `inside` runs
  /// within a plain access (a seam for tests; empty otherwise).
  template <class Inside = NoSeam>
  Fiber* push(Fiber* f, Inside&& inside = {}) noexcept {
    // seq_cst: hands f to a thief's exchange and takes over the old one, and is the store
    // half of the pairing that lets make_runnable() skip its fence while a worker spins.
    if (!enter()) return slot_.exchange(f, std::memory_order_seq_cst);
    // relaxed: no thief is inside (enter()); leave() publishes both accesses to one.
    Fiber* old = slot_.load(std::memory_order_relaxed);
    slot_.store(f, std::memory_order_relaxed);  // relaxed: as above
    inside();
    leave();
    return old;
  }

  /// Owner of a solo slot: push() without the mode tests.
  Fiber* push_solo(Fiber* f) noexcept {
    // relaxed: a solo slot has no thief; the monitor's hand-off handshake orders its own
    // accesses (runtime/monitor.hpp).
    Fiber* old = slot_.load(std::memory_order_relaxed);
    slot_.store(f, std::memory_order_relaxed);  // relaxed: as above
    return old;
  }

  /// Owner: empties the slot and returns what was there (nullptr if nothing).
  template <class Inside = NoSeam>
  Fiber* take(Inside&& inside = {}) noexcept {
    // acquire: pairs with a push's release (the fiber's saved state is complete).
    if (!enter()) return slot_.exchange(nullptr, std::memory_order_acquire);
    // relaxed: as in push().
    Fiber* f = slot_.load(std::memory_order_relaxed);
    if (f != nullptr) slot_.store(nullptr, std::memory_order_relaxed);  // relaxed: as above
    inside();
    leave();
    return f;
  }

  /// A thief: empties the slot and returns what was there. Never at the same time as
  /// another thief's steal() of this slot succeeds in the handshake (the loser gets
  /// nullptr). `inside` runs once the owner is kept out (a seam for tests).
  template <class Inside = NoSeam>
  Fiber* steal(Inside&& inside = {}) noexcept {
    // acquire: pairs with push()'s seq_cst exchange; the fiber's state is complete.
    if (mode_ != Mode::plain) return slot_.exchange(nullptr, std::memory_order_acquire);
    // acquire: pairs with the release that ended the last steal. One thief at a time.
    if (steal_.exchange(1, std::memory_order_acquire) != 0) return nullptr;
    process_fence();
    SpinBackoff backoff;
    // acquire: pairs with leave(); the owner's last plain access is visible.
    while (busy_.load(std::memory_order_acquire) != 0) backoff.pause();
    inside();
    // From here the owner exchanges too (enter() sees the request). acquire: pairs with the
    // owner's leave() (read above) or with its exchange.
    Fiber* f = slot_.exchange(nullptr, std::memory_order_acquire);
    // release: the owner's next plain access sees the slot as this exchange left it.
    steal_.store(0, std::memory_order_release);
    return f;
  }

  /// Whether something is in the slot: a hint (relaxed), to skip the work of taking.
  bool occupied() const noexcept { return slot_.load(std::memory_order_relaxed) != nullptr; }

 private:
  // The owner's half of the handshake: true when the slot may be used with plain accesses
  // until leave() (always in solo mode, never in exchange mode).
  bool enter() noexcept {
    if (mode_ == Mode::solo) return true;
    if (mode_ == Mode::exchange) return false;
    // relaxed: kept before the load below on this thread by the signal fence, and made
    // visible to a thief whose request the load misses by the thief's process_fence().
    busy_.store(1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    // acquire: pairs with the release that ends a steal, so the access that follows sees
    // the thief's exchange of the slot.
    if (steal_.load(std::memory_order_acquire) == 0) [[likely]]
      return true;
    busy_.store(0, std::memory_order_relaxed);  // relaxed: nothing was touched
    return false;
  }
  void leave() noexcept {
    // release: pairs with the thief's acquire load of busy_; it then sees the access.
    if (mode_ == Mode::plain) busy_.store(0, std::memory_order_release);
  }

  std::atomic<Fiber*> slot_{nullptr};
  std::atomic<std::uint32_t> busy_{0};   // written by the owner only
  std::atomic<std::uint32_t> steal_{0};  // raised by a thief for the length of a steal
  Mode mode_ = Mode::exchange;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
