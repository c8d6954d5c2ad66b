// SPDX-License-Identifier: Apache-2.0
/// @file
/// The building blocks every pattern stage is made of: what may serve as a done signal, what
/// may serve as an input channel, and the for-select loop steps "receive unless done" and
/// "send unless done".
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/chan.hpp"
#include "spindle/context.hpp"
#include "spindle/detail/chan_flavors.hpp"
#include "spindle/detail/chan_select.hpp"
#include "spindle/detail/chan_status.hpp"
#include "spindle/select.hpp"
#include "spindle/task.hpp"
#include "spindle/unit.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// @cond INTERNAL
namespace detail {
template <class C>
struct RecvSourceTraits {};
template <class T>
struct RecvSourceTraits<Chan<T>> {
  using value_type = T;
};
template <class T>
struct RecvSourceTraits<RecvChan<T>> {
  using value_type = T;
};
}  // namespace detail
/// @endcond

/// What patterns accept as their done signal: a RecvChan<Unit>, a Chan<Unit> or a Context.
/// The pattern's stages stop when the channel is closed (or the context is done).
template <class D>
concept DoneSource = std::same_as<std::remove_cvref_t<D>, RecvChan<Unit>> ||
    std::same_as<std::remove_cvref_t<D>, Chan<Unit>> ||
    std::same_as<std::remove_cvref_t<D>, Context>;

/// What patterns accept as an input channel: a Chan<T> or a RecvChan<T>.
template <class C>
concept RecvSource = requires {
  typename detail::RecvSourceTraits<std::remove_cvref_t<C>>::value_type;
};

/// The element type of a RecvSource.
template <RecvSource C>
using source_value_t = typename detail::RecvSourceTraits<std::remove_cvref_t<C>>::value_type;

/// Any DoneSource as a done channel, for stages of your own: `done` itself.
inline RecvChan<Unit> done_chan(const RecvChan<Unit>& done) { return done; }
/// The receive view of `done`.
inline RecvChan<Unit> done_chan(const Chan<Unit>& done) { return RecvChan<Unit>(done); }
/// `ctx.done()`: closed when `ctx` is cancelled or past its deadline; nil (never fires) for
/// contexts that can never be cancelled, such as background().
inline RecvChan<Unit> done_chan(const Context& ctx) { return ctx.done(); }

/// Any RecvSource as a receive view, for stages of your own: `in` itself.
template <class T>
RecvChan<T> recv_view(const RecvChan<T>& in) {
  return in;
}
/// The receive view of `in`.
template <class T>
RecvChan<T> recv_view(const Chan<T>& in) {
  return RecvChan<T>(in);
}

/// How recv_or_done ended.
enum class RecvStatus {
  value,   ///< A value was received.
  closed,  ///< The input is closed and drained.
  done,    ///< The done signal fired first.
};

/// @cond INTERNAL
namespace detail {
/// The for-select steps' first look, before any select: has `done` fired? (Lock-free unless
/// somebody is sending on it.) Looking at it first, rather than at random as a select does,
/// means a stage whose input never runs dry still notices cancellation at its next step.
inline bool done_fired_now(const RecvChan<Unit>& done) noexcept {
  std::optional<Unit> v;
  return chan_try_recv(*ChanAccess::state(done), v) != ChanStatus::not_ready;
}
}  // namespace detail
/// @endcond

/// One step of the for-select loop: waits for a value from `in` or for `done`, whichever
/// comes first. Stores the value in `out` when it returns RecvStatus::value. When both are
/// ready at once, `done` wins.
template <class T>
RecvStatus recv_or_done(const RecvChan<Unit>& done, const RecvChan<T>& in, std::optional<T>& out) {
  out.reset();
  if (done.is_nil()) {  // nothing to race against: a plain receive is cheaper
    out = in.recv();
    return out ? RecvStatus::value : RecvStatus::closed;
  }
  // Ready now? Then no select: half the steps of a pipeline find their partner waiting, and
  // a select's random order and two-case machinery cost more than the receive itself.
  if (detail::done_fired_now(done)) return RecvStatus::done;
  auto* s = detail::ChanAccess::state(in);
  if (s != nullptr) {  // a nil input never is
    switch (detail::chan_try_recv(*s, out)) {
      case detail::ChanStatus::ok:
        return RecvStatus::value;
      case detail::ChanStatus::closed:
        return RecvStatus::closed;
      case detail::ChanStatus::not_ready:
        break;
    }
  }
  // Neither was ready a moment ago: the select may go straight to waiting on both.
  detail::RecvOp<T> op(s);
  detail::RecvOp<Unit> done_op(detail::ChanAccess::state(done));
  detail::SelectCase* cases[2] = {s == nullptr ? nullptr : &op, &done_op};
  detail::WaitEntry entries[2];
  if (detail::run_select(cases, entries, 2, detail::kNoDefault, /*poll_first=*/false) == 1) {
    return RecvStatus::done;
  }
  out = std::move(op.value);
  return out ? RecvStatus::value : RecvStatus::closed;
}

/// The other step of the for-select loop: sends `value` on `out` unless `done` fires first.
/// True if it was sent. When both are ready at once, `done` wins.
template <class T, class U>
bool send_or_done(const RecvChan<Unit>& done, const SendChan<T>& out, U&& value) {
  if (done.is_nil()) {
    out.send(std::forward<U>(value));
    return true;
  }
  if (detail::done_fired_now(done)) return false;
  T v(std::forward<U>(value));
  // A receiver already waiting takes it without a select (see recv_or_done); a closed
  // output is left to the select below, which reports it as any send would.
  auto* s = detail::ChanAccess::state(out);
  if (s != nullptr) {
    switch (detail::chan_try_send(*s, v)) {
      case detail::ChanStatus::ok:
        return true;
      case detail::ChanStatus::closed:
        detail::throw_channel_closed("spindle::send_or_done: send on closed channel");
      case detail::ChanStatus::not_ready:
        break;
    }
  }
  // Neither was ready a moment ago: the select may go straight to waiting on both.
  detail::SendOp<T> op(s, &v, "spindle::send_or_done: send on closed channel");
  detail::RecvOp<Unit> done_op(detail::ChanAccess::state(done));
  detail::SelectCase* cases[2] = {s == nullptr ? nullptr : &op, &done_op};
  detail::WaitEntry entries[2];
  return detail::run_select(cases, entries, 2, detail::kNoDefault, /*poll_first=*/false) == 0;
}

/// True if `done` has fired (never blocks).
inline bool is_done(const RecvChan<Unit>& done) {
  return !done.is_nil() && detail::done_fired_now(done);
}

/// @cond INTERNAL
namespace detail {
/// Closes a stage's output when the stage ends, however it ends (input drained, done fired,
/// a throwing user function, or runtime teardown). An output somebody else closed already
/// is left alone.
template <class T>
struct CloseOnExit {
  explicit CloseOnExit(SendChan<T> o) noexcept : out(std::move(o)) {}
  CloseOnExit(const CloseOnExit&) = delete;
  CloseOnExit& operator=(const CloseOnExit&) = delete;
  ~CloseOnExit() {
    try {
      out.close();
    } catch (const ChannelError&) {
    }
  }
  SendChan<T> out;
};

/// Stage tasks started and not yet finished, in this process (for tests and diagnostics:
/// a pipeline that wound down completely leaves it where it was).
inline std::atomic<std::int64_t> live_stages{0};

/// Starts a stage: a detached task running `body`.
template <class F>
void start_stage(F&& body) {
  // relaxed: a statistic; whoever waits for it to drop synchronises through channels.
  live_stages.fetch_add(1, std::memory_order_relaxed);
  try {
    spindle::spawn([b = std::forward<F>(body)]() mutable {
      struct Count {
        ~Count() { live_stages.fetch_sub(1, std::memory_order_release); }
      } count;
      b();
    }).detach();
  } catch (...) {
    live_stages.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
}
}  // namespace detail
/// @endcond

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
