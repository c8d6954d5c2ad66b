// SPDX-License-Identifier: Apache-2.0
// The one waiting mechanism everything that blocks is built on.
//
// A Waiter is created on the stack of whoever is about to block. Inside a task, park()
// switches the task away and lets its worker run something else; on a plain OS thread it
// blocks the thread on a futex. unpark() is the matching wake-up and may come from any
// thread, any task or a timer callback, before or after park() began: the state word below
// makes the order irrelevant, so no wake-up is ever lost.
//
// States of state_ (a futex word):
//   kIdle     nobody has parked or woken yet
//   kParked   the owner is suspended (task switched out / thread sleeping)
//   kNotified unpark() happened; park() returns (or never sleeps)
// Transitions: kIdle->kParked (owner, CAS); kIdle->kNotified (waker, CAS, or exchange on a
// plain thread); kParked->kNotified (waker: on a plain thread an exchange; for a task a plain
// store, after the waker won the fiber's run_state CAS, which is what arbitrates between
// wakers and teardown; a task with a single waker (see the constructor) is marked
// kParkedExclusive instead, and that waker may claim the fiber with a plain store:
// Scheduler::claim_parked_exclusive). Every waker's write of kNotified is a release that
// pairs with the owner's acquire when it observes kNotified, so whatever the waker wrote
// before unpark() (a received value, a flag) is visible after park() returns.
//
// Lifetime rule: the owner may destroy the Waiter as soon as park() returns, so unpark()
// touches nothing of the Waiter after its write of kNotified (a task's waker writes it before
// making the task runnable). Wakers that may race (a timer and a channel on one timed wait)
// must all be done before the owner destroys the Waiter. A Waiter is single-shot: one park,
// one effective unpark; later unparks are harmless no-ops.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "spindle/abi.hpp"
#include "spindle/clock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Fiber;
class SpinLock;

/// The fiber running on this thread, or nullptr on a plain thread.
Fiber* current_fiber() noexcept;

/// What a blocked task waits on, for diagnostics (Runtime::tasks(), dumps, deadlock reports).
enum class WaitKind : std::uint8_t {
  none,
  chan_recv,
  chan_send,
  select,
  sleep,
  join,
  mutex,
  waitgroup,
  context,
  io,
  blocking,
  other,
};

/// Printable name of a WaitKind ("chan recv", "select", ...).
const char* to_string(WaitKind kind) noexcept;

/// The `object` of a Waiter nobody else can ever reach (a nil channel, a select with no live
/// case): the partial-deadlock proof takes a task parked on it as blocked for good.
const void* forever_object() noexcept;

/// Marks a plain thread as inside a blocking spindle call for its lifetime: while any such
/// thread exists, the deadlock detector stays quiet (that thread may still wake a task).
class OutsideCall {
 public:
  OutsideCall() noexcept;
  ~OutsideCall();
  OutsideCall(const OutsideCall&) = delete;
  OutsideCall& operator=(const OutsideCall&) = delete;
};

/// Number of plain threads inside blocking spindle calls right now.
std::size_t outside_calls() noexcept;

class Waiter {
 public:
  /// Binds the waiter to the running task, or to the calling thread outside any task.
  /// `kind` and `object` describe what is awaited, for diagnostics only.
  /// `single_waker`: at most one unpark() will ever reach this waiter (its wakers first win
  /// a claim of their own, as every channel wait's do); the one that comes may then claim a
  /// parked task without a CAS (Scheduler::claim_parked_exclusive).
  explicit Waiter(WaitKind kind = WaitKind::other, const void* object = nullptr,
                  bool single_waker = false) noexcept
      : fiber_(current_fiber()), kind_(kind), single_waker_(single_waker), object_(object) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  /// Blocks until unpark(). Inside a task that the runtime is tearing down, throws the
  /// runtime's unwind exception instead (callers undo their registration in destructors).
  void park();

  /// park() for a caller that holds `lock`, the only lock under which anyone can reach this
  /// waiter to wake it (a plain send or receive on one unbuffered channel): inside a task the
  /// lock is released only once the task has switched away (Go's gopark with an unlock
  /// function), so no waker can race the park itself and parking takes no locked
  /// instruction. On a plain thread, or when the task is being torn down, it releases the
  /// lock first and then behaves as park(). The lock is released in every case.
  void park_releasing(SpinLock& lock);

  /// Like park(), but gives up at `deadline`. Returns true when woken by unpark(), false on
  /// timeout. After a timeout the caller must make sure no unpark() can still reach this
  /// waiter before destroying it (deregister first, as for park()).
  bool park_until(TimePoint deadline);

  /// Wakes the owner. Safe from any thread, a task, or a timer callback; idempotent.
  void unpark() noexcept { (void)wake(); }

  /// unpark() that tells whether this call was the one that woke the owner.
  bool wake() noexcept;

  /// True once unpark() has happened.
  bool notified() const noexcept {
    // acquire: pairs with the release exchange in unpark(), like a successful park().
    return state_.load(std::memory_order_acquire) == kNotified;
  }

  /// True when the owner is a task (as opposed to a plain thread).
  bool in_task() const noexcept { return fiber_ != nullptr; }

 private:
  friend class Worker;
  static constexpr std::uint32_t kIdle = 0;
  static constexpr std::uint32_t kParked = 1;
  static constexpr std::uint32_t kNotified = 2;
  // kParked, for a task whose Waiter has a single waker: that waker may claim it without
  // a CAS.
  static constexpr std::uint32_t kParkedExclusive = 3;

  // A task's park: switches `f` out (releasing `release`, if set, once it is off its stack)
  // and returns when woken; unwinds if teardown resumed it instead.
  void switch_away(Fiber* f, SpinLock* release);

  std::atomic<std::uint32_t> state_{kIdle};
  Fiber* fiber_;
  WaitKind kind_;
  bool single_waker_;
  const void* object_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
