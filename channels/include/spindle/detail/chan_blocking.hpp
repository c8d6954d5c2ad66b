// SPDX-License-Identifier: Apache-2.0
// The blocking send and receive used by Chan, SendChan, RecvChan and the range-for iterator:
// chan_send() and chan_recv(). They dispatch on the flavor once (visit_flavor(),
// chan_flavors.hpp), and the flavor's kClaimCompletes picks one of two paths:
//   * a claim only wakes the party to retry (buffered): the non-blocking operation, inlined
//     into the caller, and only when it would block, the select engine with one case
//     (run_select, chan_select.hpp), out of line;
//   * a claim completes the operation (unbuffered): Go's chansend / chanrecv, out of line.
//     One locked step (send_or_hold / recv_or_hold) hands off to a parked partner or, with
//     the lock still held, enrols the caller, which parks with Waiter::park_releasing; the
//     worker releases the lock once the task is off its stack, so no waker can race the
//     park. A send that finds its partner waiting never builds a wait context.
//
// Invariants:
//   * a nil channel's send or receive parks for good (block_forever), as Go's does;
//   * a plain operation parked through send_or_hold / recv_or_hold has a single-channel
//     context: every claim of it, its owner's abort included, happens under that channel's
//     lock; when unwinding, the owner aborts and unlinks in one locked step and, if a
//     partner claimed it first, waits for that partner's unpark before its stack goes
//     (park_enrolled).
#pragma once

#include <optional>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/detail/chan_core.hpp"
#include "spindle/detail/chan_flavors.hpp"
#include "spindle/detail/chan_select.hpp"
#include "spindle/detail/chan_status.hpp"
#include "spindle/detail/chan_wait.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Parks on `ctx` after a single operation enrolled its entry on a channel's queue with the
/// channel lock held (send_or_hold / recv_or_hold), releasing `lock` once the task is off
/// its stack. On unwinding, `abort` claims the context and unlinks the entry under the
/// channel lock; if a partner claimed it first, waits out that partner's unpark.
template <class Abort>
void park_enrolled(SelectCtx& ctx, SpinLock& lock, Abort&& abort) {
  try {
    ctx.waiter.park_releasing(lock);
  } catch (...) {
    if (!abort()) ctx.wait_for_claimer();
    throw;  // ForcedUnwind: never swallowed
  }
}

/// The blocking send of a flavor whose parties are woken to retry, once its non-blocking
/// try found no room: the select engine with one case.
template <class S, class T>
[[gnu::noinline]] void send_by_select(S& s, T& value, const char* closed_message) {
  SendOp<T> op(&s, &value, closed_message);
  SelectCase* c = &op;
  WaitEntry e;
  run_select(&c, &e, 1, kNoDefault);
}

/// The blocking send of a flavor whose parties are woken to retry: the non-blocking try
/// inline, everything else out of line, so the fast path saves no registers it does not use.
template <class S, class T>
requires(!S::kClaimCompletes)
    [[gnu::always_inline]] inline void send_on(S& s, T& value, const char* closed_message) {
  const ChanStatus status = s.try_send(value);
  if (status == ChanStatus::ok) return;
  if (status == ChanStatus::closed) throw_channel_closed(closed_message);
  send_by_select(s, value, closed_message);
}

/// The blocking send of a flavor whose claims complete operations: one locked step to hand
/// off or enqueue, then park.
template <class S, class T>
requires(S::kClaimCompletes)
    [[gnu::noinline]] void send_on(S& s, T& value, const char* closed_message) {
  switch (s.send_or_hold(value)) {
    case ChanStatus::ok:
      return;
    case ChanStatus::closed:
      throw_channel_closed(closed_message);
    case ChanStatus::not_ready:
      break;
  }
  SelectCtx ctx(WaitKind::chan_send, &s, /*one_channel=*/true);
  WaitEntry e;
  e.ctx = &ctx;
  s.enroll_sender_locked(e, &value);
  park_enrolled(ctx, s.wait_lock(), [&]() noexcept { return s.abort_send(e); });
  // The claimer unlinked `e` and set its result before unparking (acquired by park()).
  if (e.result == WaitEntry::kClosed) throw_channel_closed(closed_message);
}

/// Blocking send used by Chan and SendChan.
template <class T>
void chan_send(ChanState<T>* state, T& value, const char* closed_message) {
  if (state == nullptr) block_forever(WaitKind::chan_send);
  visit_flavor(*state, [&](auto& s) { send_on(s, value, closed_message); });
}

/// The blocking receive of a flavor whose parties are woken to retry, once its
/// non-blocking try found nothing: the select engine with one case.
template <class S>
[[gnu::noinline]] std::optional<typename S::value_type> recv_by_select(S& s) {
  RecvOp<typename S::value_type> op(&s);
  SelectCase* c = &op;
  WaitEntry e;
  run_select(&c, &e, 1, kNoDefault);
  return std::move(op.value);
}

/// The blocking receive of a flavor whose parties are woken to retry. Its fast path alone
/// returns `ready`, so that the result never leaves registers: merged with the slow path's
/// return it went through a stack slot written by narrow stores and read back whole, a
/// store-forwarding stall per receive.
template <class S>
requires(!S::kClaimCompletes)
    [[gnu::always_inline]] inline std::optional<typename S::value_type> recv_on(S& s) {
  std::optional<typename S::value_type> ready;
  if (s.try_recv(ready) != ChanStatus::not_ready) return ready;
  return recv_by_select(s);
}

/// The blocking receive of a flavor whose claims complete operations: one locked step to
/// take a parked sender's value or enqueue, then park. `out` is the only object it returns,
/// so it is built in place (returned in registers for small T): returned from a function that
/// also returns another object, it would be copied through a 16-byte stack store that the
/// register loads then read back in halves, a store-forwarding stall per receive.
template <class S>
requires(S::kClaimCompletes) [[gnu::noinline]] std::optional<typename S::value_type> recv_on(S& s) {
  std::optional<typename S::value_type> out;
  if (s.recv_or_hold(out) == ChanStatus::not_ready) {
    SelectCtx ctx(WaitKind::chan_recv, &s, /*one_channel=*/true);
    WaitEntry e;
    e.ctx = &ctx;
    s.enroll_receiver_locked(e, &out);
    park_enrolled(ctx, s.wait_lock(), [&]() noexcept { return s.abort_recv(e); });
  }
  return out;  // filled by the sender (kDone), or empty because of a close (kClosed)
}

/// Blocking receive used by Chan and RecvChan.
template <class T>
std::optional<T> chan_recv(ChanState<T>* state) {
  if (state == nullptr) block_forever(WaitKind::chan_recv);
  return visit_flavor(*state, [](auto& s) { return recv_on(s); });
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
