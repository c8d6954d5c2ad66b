// SPDX-License-Identifier: Apache-2.0
/// @file
/// Generators: generate, repeat, repeat_fn, take.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "spindle/abi.hpp"
#include "spindle/patterns/loop.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// Sends `values` in order on the returned channel, then closes it (or stops early when
/// `done` fires).
/// @code
/// spindle::RecvChan<int> gen = spindle::generate(done, std::vector<int>{1, 2, 3});
/// @endcode
template <DoneSource D, class T>
RecvChan<T> generate(const D& done, std::vector<T> values) {
  Chan<T> out;
  detail::start_stage(
      [d = done_chan(done), out = SendChan<T>(out), vs = std::move(values)]() mutable {
        detail::CloseOnExit<T> closer{out};
        for (auto& v : vs) {
          if (!send_or_done(d, out, std::move(v))) return;
        }
      });
  return out;
}

/// generate() from a braced list: `spindle::generate(done, {1, 2, 3})`.
template <DoneSource D, class T>
RecvChan<T> generate(const D& done, std::initializer_list<T> values) {
  return generate(done, std::vector<T>(values));
}

/// Sends `values` in order, over and over, until `done` fires.
/// @throws std::invalid_argument if `values` is empty.
template <DoneSource D, class T>
RecvChan<T> repeat(const D& done, std::vector<T> values) {
  static_assert(std::is_copy_constructible_v<T>, "spindle::repeat: values must be copyable");
  if (values.empty()) throw std::invalid_argument("spindle::repeat: no values to repeat");
  Chan<T> out;
  detail::start_stage([d = done_chan(done), out = SendChan<T>(out), vs = std::move(values)] {
    detail::CloseOnExit<T> closer{out};
    for (;;) {
      for (const auto& v : vs) {
        if (!send_or_done(d, out, T(v))) return;
      }
    }
  });
  return out;
}

/// repeat() from a braced list: `spindle::repeat(done, {1})`.
template <DoneSource D, class T>
RecvChan<T> repeat(const D& done, std::initializer_list<T> values) {
  return repeat(done, std::vector<T>(values));
}

/// Sends `fn()` over and over until `done` fires.
template <DoneSource D, class F>
requires std::is_invocable_v < std::decay_t<F>
& > RecvChan<std::invoke_result_t<std::decay_t<F>&>> repeat_fn(const D& done, F&& fn) {
  using T = std::invoke_result_t<std::decay_t<F>&>;
  Chan<T> out;
  detail::start_stage(
      [d = done_chan(done), out = SendChan<T>(out), f = std::forward<F>(fn)]() mutable {
        detail::CloseOnExit<T> closer{out};
        for (;;) {
          if (!send_or_done(d, out, f())) return;
        }
      });
  return out;
}

/// Passes on the first `n` values of `in`, then closes (also when `in` closes or `done`
/// fires first). It stops reading `in` after n values: whatever feeds `in` must itself stop
/// on `done`, as the other patterns do.
template <DoneSource D, RecvSource In>
RecvChan<source_value_t<In>> take(const D& done, const In& in, std::size_t n) {
  using T = source_value_t<In>;
  Chan<T> out;
  detail::start_stage([d = done_chan(done), in = recv_view(in), out = SendChan<T>(out), n] {
    detail::CloseOnExit<T> closer{out};
    std::optional<T> v;
    for (std::size_t i = 0; i < n; ++i) {
      if (recv_or_done(d, in, v) != RecvStatus::value) return;
      if (!send_or_done(d, out, std::move(*v))) return;
    }
  });
  return out;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
