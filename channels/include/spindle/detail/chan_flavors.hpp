// SPDX-License-Identifier: Apache-2.0
// The channel flavors and the one place that dispatches to them: the ChanFlavors list, the
// ChanFlavor concept every flavor meets, make_chan_state() (which flavor a capacity makes)
// and visit_flavor() (from a ChanState<T>& to its flavor), plus the operations the handles
// call through it. The layout, and what adding a flavor takes, are described at the top of
// chan_core.hpp.
//
// Invariants:
//   * a flavor's id is its index in ChanFlavors, stored in the channel's core when it is
//     made and never changed; visit_flavor() relies on it to cast to the right type;
//   * make_chan_state() makes the first flavor whose serves(capacity) is true; the last
//     flavor takes whatever capacity the ones before it declined (the handle has checked
//     the capacity against the limits first).
#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>

#include "spindle/abi.hpp"
#include "spindle/detail/chan_buffered.hpp"
#include "spindle/detail/chan_core.hpp"
#include "spindle/detail/chan_status.hpp"
#include "spindle/detail/chan_unbuffered.hpp"
#include "spindle/detail/chan_wait.hpp"
#include "spindle/detail/spin_lock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// What the blocking path of a flavor whose claims complete operations (kClaimCompletes)
/// needs besides the common operations: the one locked step that hands off or holds the
/// lock, enrolling under that lock, and the abort of such an enrolment when unwinding.
template <class S>
concept ChanHandOffFlavor = requires(S& s, typename S::value_type& v,
                                     std::optional<typename S::value_type>& out, WaitEntry& e) {
  { s.send_or_hold(v) } -> std::same_as<ChanStatus>;
  s.enroll_sender_locked(e, &v);
  { s.abort_send(e) } -> std::same_as<bool>;
  { s.recv_or_hold(out) } -> std::same_as<ChanStatus>;
  s.enroll_receiver_locked(e, &out);
  { s.abort_recv(e) } -> std::same_as<bool>;
};

/// The operations every flavor provides (described in chan_buffered.hpp and
/// chan_unbuffered.hpp).
template <class S>
concept ChanFlavorOps = std::derived_from<S, ChanState<typename S::value_type>> &&
    requires(S& s, typename S::value_type& v, std::optional<typename S::value_type>& out,
             WaitEntry& e, std::size_t n) {
  { S::kClaimCompletes } -> std::convertible_to<bool>;
  { S::serves(n) } -> std::same_as<bool>;
  { s.capacity() } -> std::same_as<std::size_t>;
  { s.size() } -> std::same_as<std::size_t>;
  { s.send_may_proceed() } -> std::same_as<bool>;
  { s.recv_may_proceed() } -> std::same_as<bool>;
  { s.try_send(v) } -> std::same_as<ChanStatus>;
  { s.try_recv(out) } -> std::same_as<ChanStatus>;
  { s.close() } -> std::same_as<bool>;
  { s.enroll_send(e, &v) } -> std::same_as<bool>;
  { s.enroll_recv(e, &out) } -> std::same_as<bool>;
  s.unenroll_send(e);
  s.unenroll_recv(e);
  s.forward_send_wakeup();
  s.forward_recv_wakeup();
};

/// A flavor whose claims only wake parties to retry needs nothing more; one whose claims
/// complete operations needs the hand-off path too.
template <class S>
concept ChanFlavorBlockingPath = !S::kClaimCompletes || ChanHandOffFlavor<S>;

/// What a flavor provides.
template <class S>
concept ChanFlavor = ChanFlavorOps<S> && ChanFlavorBlockingPath<S>;

template <template <class> class... Flavors>
struct ChanFlavorList {};

/// Every flavor, in the order make_chan_state() asks them. A new flavor is one entry here.
using ChanFlavors = ChanFlavorList<BufferedState, UnbufferedState>;

template <std::size_t I, class T, template <class> class F, template <class> class... Rest>
std::shared_ptr<ChanState<T>> make_flavor_from(std::size_t capacity) {
  static_assert(ChanFlavor<F<T>>, "a channel flavor lacks an operation (see ChanFlavor)");
  static_assert(I <= 0xff, "ChanFlavorId holds the index of every flavor");
  if constexpr (sizeof...(Rest) != 0) {
    if (!F<T>::serves(capacity)) return make_flavor_from<I + 1, T, Rest...>(capacity);
  }
  return std::make_shared<F<T>>(static_cast<ChanFlavorId>(I), capacity);
}
// Out of line: a caller that saw the allocation would know the object's size, and g++ then
// warns (-Warray-bounds) about the other flavors' accesses in the branches of a later
// visit_flavor() that the flavor index rules out but that it cannot.
template <class T, template <class> class... Flavors>
[[gnu::noinline]] std::shared_ptr<ChanState<T>> make_flavor(ChanFlavorList<Flavors...> /*list*/,
                                                            std::size_t capacity) {
  return make_flavor_from<0, T, Flavors...>(capacity);
}

template <std::size_t I, class T, class Fn, template <class> class F,
          template <class> class... Rest>
[[gnu::always_inline]] inline decltype(auto) visit_flavor_from(ChanState<T>& s, Fn& fn) {
  if constexpr (sizeof...(Rest) == 0) {
    return fn(static_cast<F<T>&>(s));  // the last flavor: nothing left to test
  } else {
    if (s.flavor() == static_cast<ChanFlavorId>(I)) return fn(static_cast<F<T>&>(s));
    return visit_flavor_from<I + 1, T, Fn, Rest...>(s, fn);
  }
}
template <class T, class Fn, template <class> class... Flavors>
[[gnu::always_inline]] inline decltype(auto) visit_flavor_in(ChanFlavorList<Flavors...> /*list*/,
                                                             ChanState<T>& s, Fn& fn) {
  return visit_flavor_from<0, T, Fn, Flavors...>(s, fn);
}

/// A new channel of T with `capacity` (already checked by the handle).
template <class T>
std::shared_ptr<ChanState<T>> make_chan_state(std::size_t capacity) {
  return make_flavor<T>(ChanFlavors{}, capacity);
}

/// Calls `fn` with `s` as its flavor's type (BufferedState<T>&, UnbufferedState<T>& ...):
/// one test of the flavor index per flavor before the last, inlined into the caller. `fn`
/// must return the same type for every flavor.
template <class T, class Fn>
[[gnu::always_inline]] inline decltype(auto) visit_flavor(ChanState<T>& s, Fn&& fn) {
  return visit_flavor_in(ChanFlavors{}, s, fn);
}

// The operations below inline into their callers, as the flavors' own do: a select looks at
// every case's readiness and tries the ready one, and a call each would be a large share of it.

/// The capacity given at construction (0: unbuffered).
template <class T>
[[gnu::always_inline]] inline std::size_t chan_capacity(ChanState<T>& s) noexcept {
  return visit_flavor(s, [](auto& f) noexcept { return f.capacity(); });
}
/// Values buffered right now (a snapshot).
template <class T>
[[gnu::always_inline]] inline std::size_t chan_size(ChanState<T>& s) noexcept {
  return visit_flavor(s, [](auto& f) noexcept { return f.size(); });
}
/// Closes the channel and wakes every parked party. False if it was already closed.
template <class T>
bool chan_close(ChanState<T>& s) noexcept {
  return visit_flavor(s, [](auto& f) noexcept { return f.close(); });
}
/// Non-blocking send: moves from `value` only when it returns ok.
template <class T>
[[gnu::always_inline]] inline ChanStatus chan_try_send(ChanState<T>& s, T& value) noexcept {
  return visit_flavor(s, [&value](auto& f) noexcept { return f.try_send(value); });
}
/// Non-blocking receive: fills `out` only when it returns ok.
template <class T>
[[gnu::always_inline]] inline ChanStatus chan_try_recv(ChanState<T>& s,
                                                       std::optional<T>& out) noexcept {
  return visit_flavor(s, [&out](auto& f) noexcept { return f.try_recv(out); });
}
/// A hint that a send would not block: it may complete, or throw because of a close.
template <class T>
[[gnu::always_inline]] inline bool chan_send_may_proceed(ChanState<T>& s) noexcept {
  return visit_flavor(s, [](auto& f) noexcept { return f.send_may_proceed(); });
}
/// A hint that a receive would not block: a value, a parked sender, or the channel closed.
template <class T>
[[gnu::always_inline]] inline bool chan_recv_may_proceed(ChanState<T>& s) noexcept {
  return visit_flavor(s, [](auto& f) noexcept { return f.recv_may_proceed(); });
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
