// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::select: wait on several channel operations at once, as Go's `select`.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "spindle/abi.hpp"
#include "spindle/chan.hpp"
#include "spindle/detail/chan_select.hpp"
#include "spindle/detail/scratch_array.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// @cond INTERNAL
namespace detail {

struct NoHandler {};

template <class H>
struct IsRecvHandle : std::false_type {};
template <class T>
struct IsRecvHandle<Chan<T>> : std::true_type {};
template <class T>
struct IsRecvHandle<RecvChan<T>> : std::true_type {};

template <class H>
struct IsSendHandle : std::false_type {};
template <class T>
struct IsSendHandle<Chan<T>> : std::true_type {};
template <class T>
struct IsSendHandle<SendChan<T>> : std::true_type {};

/// The channel of a case: borrowed from an lvalue handle (which must outlive the select),
/// or owned when the handle was a temporary (so `on_recv(after(1s))` is safe).
template <class T>
struct CaseChan {
  ChanState<T>* state = nullptr;
  std::shared_ptr<ChanState<T>> owned;
};

template <class H>
auto case_chan(H&& handle) {
  using T = typename std::remove_cvref_t<H>::value_type;
  CaseChan<T> c;
  if constexpr (std::is_lvalue_reference_v<H>) {
    c.state = ChanAccess::state(handle);
  } else {
    c.owned = ChanAccess::take(std::move(handle));
    c.state = c.owned.get();
  }
  return c;
}

template <class T, class F>
struct RecvCase {
  CaseChan<T> chan;
  F handler;
};
template <class T, class F>
struct SendCase {
  CaseChan<T> chan;
  T value;
  F handler;
};
template <class F>
struct DefaultCase {
  F handler;
};

template <class C>
struct IsSelectCase : std::false_type {};
template <class T, class F>
struct IsSelectCase<RecvCase<T, F>> : std::true_type {};
template <class T, class F>
struct IsSelectCase<SendCase<T, F>> : std::true_type {};
template <class F>
struct IsSelectCase<DefaultCase<F>> : std::true_type {};

template <class C>
struct IsDefaultCase : std::false_type {};
template <class F>
struct IsDefaultCase<DefaultCase<F>> : std::true_type {};

/// The engine-side object of one case, built in place on select's stack.
template <class C>
struct CaseOp;

template <class T, class F>
struct CaseOp<RecvCase<T, F>> {
  explicit CaseOp(RecvCase<T, F>& c) noexcept : op(c.chan.state), live(c.chan.state != nullptr) {}
  SelectCase* engine() noexcept { return live ? &op : nullptr; }
  bool try_fire() { return op.try_fire(); }  // RecvOp is final: a direct call
  bool may_fire() const noexcept { return live && op.may_fire(); }
  const void* channel() const noexcept { return op.channel(); }  // nullptr when nil
  void run(RecvCase<T, F>& c) {
    if constexpr (!std::is_same_v<F, NoHandler>) c.handler(std::move(op.value));
  }
  RecvOp<T> op;
  bool live;
};

template <class T, class F>
struct CaseOp<SendCase<T, F>> {
  explicit CaseOp(SendCase<T, F>& c) noexcept
      : op(c.chan.state, &c.value, "spindle::select: send on closed channel"),
        live(c.chan.state != nullptr) {}
  SelectCase* engine() noexcept { return live ? &op : nullptr; }
  bool try_fire() { return op.try_fire(); }  // SendOp is final: a direct call
  bool may_fire() const noexcept { return live && op.may_fire(); }
  const void* channel() const noexcept { return op.channel(); }  // nullptr when nil
  void run(SendCase<T, F>& c) {
    if constexpr (!std::is_same_v<F, NoHandler>) c.handler();
  }
  SendOp<T> op;
  bool live;
};

template <class F>
struct CaseOp<DefaultCase<F>> {
  explicit CaseOp(DefaultCase<F>& /*c*/) noexcept {}
  SelectCase* engine() noexcept { return nullptr; }
  bool try_fire() noexcept { return false; }  // never polled: engine() is nullptr
  bool may_fire() const noexcept { return false; }
  const void* channel() const noexcept { return nullptr; }
  void run(DefaultCase<F>& c) { c.handler(); }
};

template <class... Cases>
constexpr std::size_t default_index() noexcept {
  std::size_t index = kNoDefault;
  std::size_t i = 0;
  ((index = IsDefaultCase<Cases>::value ? i : index, ++i), ...);
  return index;
}

/// Tries case `i` once without blocking, calling its operation directly (no virtual call).
template <class Ops, std::size_t... I>
bool try_fire_case(std::size_t i, Ops& ops, std::index_sequence<I...>) {
  bool done = false;
  static_cast<void>(((i == I ? (done = std::get<I>(ops).try_fire(), true) : false) || ...));
  return done;
}

/// Bit i set: case i is live and looks ready (may_fire()).
template <class Ops, std::size_t... I>
std::uint64_t ready_cases(const Ops& ops, std::index_sequence<I...>) noexcept {
  return ((std::uint64_t{std::get<I>(ops).may_fire()} << I) | ...);
}

/// Tries the cases whose bits are set in `ready` (by `try_fire(i)`), each time picking one
/// uniformly among those left, until one fires; returns its index, or kNoDefault if none
/// did. One set bit, or none, costs no random draw.
template <class TryFire>
[[gnu::always_inline]] inline std::size_t fire_one_ready(std::uint64_t ready, TryFire&& try_fire) {
  while (ready != 0) {
    std::uint64_t pick = ready;
    // Two or more: draw. Tested first because without POPCNT in the target, std::popcount
    // is a call.
    if ((ready & (ready - 1)) != 0) {
      const auto count = static_cast<std::size_t>(std::popcount(ready));
      for (std::size_t skip = select_random_below(count); skip > 0; --skip)
        pick &= pick - 1;  // drops the lowest set bit
    }
    const auto i = static_cast<std::size_t>(std::countr_zero(pick));
    if (try_fire(i)) return i;
    ready &= ~(std::uint64_t{1} << i);
  }
  return kNoDefault;
}

/// True when no two live cases are on the same channel.
template <class Ops, std::size_t... I>
bool distinct_channels(const Ops& ops, std::index_sequence<I...>) noexcept {
  const void* chans[] = {std::get<I>(ops).channel()...};
  for (std::size_t i = 0; i < sizeof...(I); ++i) {
    if (chans[i] == nullptr) continue;
    for (std::size_t j = i + 1; j < sizeof...(I); ++j) {
      if (chans[j] == chans[i]) return false;
    }
  }
  return true;
}

/// Runs the handler of case `fired`.
template <class Ops, class CaseTuple, std::size_t... I>
void run_handler(std::size_t fired, Ops& ops, CaseTuple& cases, std::index_sequence<I...>) {
  ((fired == I ? std::get<I>(ops).run(std::get<I>(cases)) : void()), ...);
}

}  // namespace detail
/// @endcond

/// A select case that receives from `ch` (a Chan<T> or RecvChan<T>), then calls
/// `handler(std::optional<T>)` if given: the value, or std::nullopt if `ch` was closed.
/// A nil channel's case never fires. The case refers to an lvalue `ch` (keep it alive until
/// the select returns) and owns a temporary one.
template <class H, class... F>
requires detail::IsRecvHandle<std::remove_cvref_t<H>>::value &&
    (sizeof...(F) <= 1) auto on_recv(H&& ch, F&&... handler) {
  using T = typename std::remove_cvref_t<H>::value_type;
  if constexpr (sizeof...(F) == 0) {
    return detail::RecvCase<T, detail::NoHandler>{detail::case_chan(std::forward<H>(ch)), {}};
  } else {
    return detail::RecvCase<T, std::decay_t<F>...>{detail::case_chan(std::forward<H>(ch)),
                                                   std::forward<F>(handler)...};
  }
}

/// A select case that sends `value` on `ch` (a Chan<T> or SendChan<T>), then calls
/// `handler()` if given. The value is moved into the channel only if this case fires. If
/// `ch` is closed when the select tries this case, the select throws ChannelClosed.
template <class H, class V, class... F>
requires detail::IsSendHandle<std::remove_cvref_t<H>>::value &&
    std::is_constructible_v<typename std::remove_cvref_t<H>::value_type, V &&> &&
    (sizeof...(F) <= 1) auto on_send(H&& ch, V&& value, F&&... handler) {
  using T = typename std::remove_cvref_t<H>::value_type;
  if constexpr (sizeof...(F) == 0) {
    return detail::SendCase<T, detail::NoHandler>{
        detail::case_chan(std::forward<H>(ch)), T(std::forward<V>(value)), {}};
  } else {
    return detail::SendCase<T, std::decay_t<F>...>{detail::case_chan(std::forward<H>(ch)),
                                                   T(std::forward<V>(value)),
                                                   std::forward<F>(handler)...};
  }
}

/// The case a select takes, calling `handler()`, when no other case is ready right away.
/// It makes the select non-blocking. At most one per select.
template <class F>
auto on_default(F&& handler) {
  return detail::DefaultCase<std::decay_t<F>>{std::forward<F>(handler)};
}

/// Waits until one of `cases` can proceed, performs it, runs its handler, and returns its
/// index (0-based, in argument order). Among several ready cases one is chosen uniformly at
/// random. Cases on nil channels never fire; a closed channel's receive case is ready (its
/// handler gets std::nullopt), and a send case on a closed channel throws ChannelClosed.
/// With on_default the select never blocks; with no live case and no default it blocks
/// forever, as Go's `select {}` does.
///
/// @code
/// std::size_t fired = spindle::select(
///     spindle::on_recv(in, [&](std::optional<int> v) { got = v; }),
///     spindle::on_send(out, 5),
///     spindle::on_recv(spindle::after(100ms), [&](auto) { timed_out = true; }));
/// @endcode
///
/// Handlers run after the channel operation, outside any channel lock; they may use
/// channels freely. Exceptions from handlers propagate to the caller.
template <class... Cases>
std::size_t select(Cases&&... cases) {
  static_assert((detail::IsSelectCase<std::remove_cvref_t<Cases>>::value && ...),
                "spindle::select: every argument must be spindle::on_recv(...), "
                "spindle::on_send(...) or spindle::on_default(...)");
  static_assert((std::size_t{0} + ... +
                 (detail::IsDefaultCase<std::remove_cvref_t<Cases>>::value ? 1 : 0)) <= 1,
                "spindle::select: at most one on_default case");
  constexpr std::size_t n = sizeof...(Cases);
  if constexpr (n == 0) {
    detail::block_forever();
  } else {
    std::tuple<Cases&...> refs(cases...);
    std::tuple<detail::CaseOp<std::remove_cvref_t<Cases>>...> ops(cases...);
    std::array<detail::SelectCase*, n> engine_cases = std::apply(
        [](auto&... op) { return std::array<detail::SelectCase*, n>{op.engine()...}; }, ops);
    constexpr std::size_t dflt = detail::default_index<std::remove_cvref_t<Cases>...>();
    constexpr auto seq = std::make_index_sequence<n>{};
    std::size_t fired = detail::kNoDefault;
    if constexpr (n > 64) {
      // Too many cases for the bit set below: the engine polls them in a random order.
      std::array<detail::WaitEntry, n> entries;
      fired = detail::run_select(engine_cases.data(), entries.data(), n, dflt);
    } else {
      // The first poll runs here, where every case's type is known: one direct call per
      // case instead of the engine's virtual ones, and no wait entries unless it comes to
      // waiting. It looks at every case first, then picks uniformly among those that look
      // ready: when one does (or none), no random draw, and the branches follow the
      // channels' state rather than a random order, which the branch predictor cannot
      // follow (a small select is short enough for those mispredictions to show). A pick
      // whose try fails (a partner was faster) leaves the set, and the rest are tried the
      // same way.
      fired = detail::fire_one_ready(detail::ready_cases(ops, seq), [&](std::size_t i) {
        return detail::try_fire_case(i, ops, seq);
      });
      if (fired == detail::kNoDefault) {
        if constexpr (dflt != detail::kNoDefault) {
          fired = dflt;
        } else {
          // The enrolment order only matters between cases on one channel (a partner
          // completes the first entry it finds there); across channels, index order keeps
          // the enrolment's branches predictable, and a case found ready while enrolling
          // makes the select start over with a random poll anyway.
          const bool index_order = n <= 8 && detail::distinct_channels(ops, seq);
          // Zeroed only because g++ cannot see that every slot read was written first.
          std::array<std::size_t, n> order{};
          if (!index_order) detail::shuffle_live_cases(engine_cases.data(), n, order.data());
          std::array<detail::WaitEntry, n> entries;
          fired = detail::run_select(engine_cases.data(), entries.data(), n, detail::kNoDefault,
                                     /*poll_first=*/false, index_order ? nullptr : order.data());
        }
      }
    }
    detail::run_handler(fired, ops, refs, seq);
    return fired;
  }
}

/// A select over a run-time number of receive cases of one type (Go's `reflect.Select`),
/// plus any fixed cases after them. Waits until one of `chans` has a value (or is closed) or
/// one of `extra` fires. Returns {index, value}: for index < chans.size(), the value
/// received from chans[index] (std::nullopt if that channel is closed); otherwise
/// extra case number index - chans.size() fired, its handler ran, and the value is
/// std::nullopt. Nil channels in `chans` never fire; with no live case and no default it
/// blocks forever.
///
/// @code
/// std::vector<spindle::RecvChan<int>> inputs{a, b, c};
/// while (!inputs.empty()) {
///   auto [i, v] = spindle::select_recv(inputs, spindle::on_recv(done));
///   if (i == inputs.size()) break;                 // done fired
///   if (!v) { inputs.erase(inputs.begin() + i); continue; }   // input i closed
///   use(*v);
/// }
/// @endcode
template <class T, class... Extra>
[[nodiscard]] std::pair<std::size_t, std::optional<T>> select_recv(
    const std::vector<RecvChan<T>>& chans, Extra&&... extra) {
  static_assert((detail::IsSelectCase<std::remove_cvref_t<Extra>>::value && ...),
                "spindle::select_recv: every extra argument must be spindle::on_recv(...), "
                "spindle::on_send(...) or spindle::on_default(...)");
  static_assert((std::size_t{0} + ... +
                 (detail::IsDefaultCase<std::remove_cvref_t<Extra>>::value ? 1 : 0)) <= 1,
                "spindle::select_recv: at most one on_default case");
  const std::size_t n = chans.size();
  constexpr std::size_t m = sizeof...(Extra);
  detail::ScratchArray<detail::RecvOp<T>> ops(n);
  detail::ScratchArray<detail::SelectCase*> engine_cases(n + m);
  for (std::size_t i = 0; i < n; ++i) {
    detail::ChanState<T>* state = detail::ChanAccess::state(chans[i]);
    detail::RecvOp<T>& op = ops.emplace_back(state);
    engine_cases.emplace_back(state != nullptr ? &op : nullptr);
  }
  for (std::size_t k = 0; k < m; ++k) engine_cases.emplace_back(nullptr);
  std::tuple<Extra&...> refs(extra...);
  std::tuple<detail::CaseOp<std::remove_cvref_t<Extra>>...> extra_ops(extra...);
  std::size_t default_index = detail::kNoDefault;
  if constexpr (m > 0) {
    std::size_t k = 0;
    std::apply([&](auto&... op) { ((engine_cases[n + k++] = op.engine()), ...); }, extra_ops);
    const std::size_t d = detail::default_index<std::remove_cvref_t<Extra>...>();
    if (d != detail::kNoDefault) default_index = n + d;
  }
  std::size_t fired = detail::kNoDefault;
  if (n + m > 64) {
    // Too many cases for the bit set below: the engine polls them in a random order.
    detail::ScratchArray<detail::WaitEntry> entries(n + m);
    for (std::size_t k = 0; k < n + m; ++k) entries.emplace_back();
    fired = detail::run_select(engine_cases.data(), entries.data(), n + m, default_index);
  } else {
    // As select() does: look at every case, pick uniformly among those that look ready,
    // and build wait entries only if it comes to waiting.
    constexpr auto extra_seq = std::make_index_sequence<m>{};
    std::uint64_t ready = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (engine_cases[i] != nullptr) ready |= std::uint64_t{ops[i].may_fire()} << i;
    }
    if constexpr (m > 0) ready |= detail::ready_cases(extra_ops, extra_seq) << n;
    fired = detail::fire_one_ready(ready, [&](std::size_t i) {
      if (i < n) return ops[i].try_fire();
      if constexpr (m > 0) return detail::try_fire_case(i - n, extra_ops, extra_seq);
      return false;
    });
    if (fired == detail::kNoDefault) {
      if (default_index != detail::kNoDefault) {
        fired = default_index;
      } else {
        // Inputs may repeat a channel, so the enrolment order is random (see select()).
        detail::ScratchArray<std::size_t> order(n + m);
        for (std::size_t k = 0; k < n + m; ++k) order.emplace_back(std::size_t{0});
        detail::shuffle_live_cases(engine_cases.data(), n + m, order.data());
        detail::ScratchArray<detail::WaitEntry> entries(n + m);
        for (std::size_t k = 0; k < n + m; ++k) entries.emplace_back();
        fired = detail::run_select(engine_cases.data(), entries.data(), n + m, detail::kNoDefault,
                                   /*poll_first=*/false, order.data());
      }
    }
  }
  if (fired < n) return {fired, std::move(ops[fired].value)};
  if constexpr (m > 0) {
    detail::run_handler(fired - n, extra_ops, refs, std::make_index_sequence<m>{});
  }
  return {fired, std::nullopt};
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
