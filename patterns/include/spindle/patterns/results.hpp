// SPDX-License-Identifier: Apache-2.0
/// @file
/// Errors coupled to results: stages over channels of spindle::Result<T>.
#pragma once

#include <system_error>
#include <type_traits>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/patterns/loop.hpp"
#include "spindle/result.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// @cond INTERNAL
namespace detail {
template <class T>
struct ResultValue {
  using type = T;
};
template <class T>
struct ResultValue<Result<T>> {
  using type = T;
};
template <class R>
struct AsResult {
  using type = Result<R>;
};
template <class R>
struct AsResult<Result<R>> {
  using type = Result<R>;
};
}  // namespace detail
/// @endcond

/// A map stage for fallible work: for every value of `in` (a channel of `T` or of
/// `Result<T>`) sends `fn(value)` as a Result; `fn` may return `U` or `Result<U>`, and the
/// output channel carries `Result<U>`. Failures already in the input pass through untouched
/// (`fn` is not called for them), so one channel carries the whole pipeline's failures to
/// wherever they can be handled (route_errors). Exits, closing its output, when `in` is
/// drained or `done` fires.
///
/// @code
/// using spindle::Result;
/// auto parse = [](std::string s) -> Result<int> {
///   if (s.empty()) return Result<int>::failure(std::make_error_code(std::errc::invalid_argument));
///   return std::stoi(s);
/// };
/// spindle::RecvChan<Result<int>> parsed = spindle::try_map(done, lines, parse);
/// spindle::RecvChan<int> good = spindle::route_errors(done, parsed, [](std::error_code ec) {
///   std::fprintf(stderr, "skipped a line: %s\n", ec.message().c_str());
/// });
/// @endcode
template <DoneSource D, RecvSource In, class F>
auto try_map(const D& done, const In& in, F&& fn) {
  using In_t = source_value_t<In>;
  using T = typename detail::ResultValue<In_t>::type;
  using R = std::invoke_result_t<std::decay_t<F>&, T&&>;
  using Out = typename detail::AsResult<R>::type;
  Chan<Out> out;
  detail::start_stage([d = done_chan(done), in = recv_view(in), out = SendChan<Out>(out),
                       f = std::forward<F>(fn)]() mutable {
    detail::CloseOnExit<Out> closer{out};
    std::optional<In_t> v;
    while (recv_or_done(d, in, v) == RecvStatus::value) {
      Out r = [&]() -> Out {
        if constexpr (is_result_v<In_t>) {
          if (!v->has_value()) return Out::failure(v->error());
          return Out(f(std::move(**v)));
        } else {
          return Out(f(std::move(*v)));
        }
      }();
      if (!send_or_done(d, out, std::move(r))) return;
    }
  });
  return RecvChan<Out>(out);
}

/// Splits a channel of `Result<T>`: values continue on the returned channel, errors go to
/// `on_error` — a callable taking std::error_code (run inside the stage, so keep it short),
/// or a SendChan/Chan of std::error_code (sent unless `done` fires first). This is where the
/// part of the program that knows what an error means gets to see it. See try_map for an
/// example.
template <DoneSource D, RecvSource In, class E>
requires is_result_v<source_value_t<In>> RecvChan<typename source_value_t<In>::value_type>
route_errors(const D& done, const In& in, E&& on_error) {
  using R = source_value_t<In>;
  using T = typename R::value_type;
  Chan<T> out;
  detail::start_stage([d = done_chan(done), in = recv_view(in), out = SendChan<T>(out),
                       e = std::forward<E>(on_error)]() mutable {
    detail::CloseOnExit<T> closer{out};
    std::optional<R> v;
    while (recv_or_done(d, in, v) == RecvStatus::value) {
      if (v->has_value()) {
        if (!send_or_done(d, out, std::move(**v))) return;
      } else if constexpr (std::is_invocable_v<decltype(e)&, std::error_code>) {
        e(v->error());
      } else {
        if (!send_or_done(d, SendChan<std::error_code>(e), v->error())) return;
      }
    }
  });
  return out;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
