// SPDX-License-Identifier: Apache-2.0
/// @file
/// Pipeline stages: map, filter, buffer, batch.
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "spindle/abi.hpp"
#include "spindle/patterns/loop.hpp"
#include "spindle/patterns/probe.hpp"
#include "spindle/timers.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// Sends `fn(v)` for every value `v` of `in`, in order. With a `probe`, every value's stay
/// in the stage (from its receipt to the send of its result) is measured.
template <DoneSource D, RecvSource In, class F>
requires std::is_invocable_v < std::decay_t<F>
&, source_value_t<In>&& >
       RecvChan<std::invoke_result_t<std::decay_t<F>&, source_value_t<In>&&>> map(
           const D& done, const In& in, F&& fn, Probe* probe = nullptr) {
  using T = source_value_t<In>;
  using U = std::invoke_result_t<std::decay_t<F>&, T&&>;
  Chan<U> out;
  detail::start_stage([d = done_chan(done), in = recv_view(in), out = SendChan<U>(out),
                       f = std::forward<F>(fn), probe]() mutable {
    detail::CloseOnExit<U> closer{out};
    std::optional<T> v;
    while (recv_or_done(d, in, v) == RecvStatus::value) {
      Probe::Visit visit(probe);
      if (!send_or_done(d, out, f(std::move(*v)))) return;
    }
  });
  return out;
}

/// Passes on the values of `in` for which `pred` returns true, in order.
template <DoneSource D, RecvSource In, class P>
requires std::is_invocable_r_v < bool, std::decay_t<P>
&, const source_value_t<In>& > RecvChan<source_value_t<In>> filter(const D& done, const In& in,
                                                                   P&& pred,
                                                                   Probe* probe = nullptr) {
  using T = source_value_t<In>;
  Chan<T> out;
  detail::start_stage([d = done_chan(done), in = recv_view(in), out = SendChan<T>(out),
                       p = std::forward<P>(pred), probe]() mutable {
    detail::CloseOnExit<T> closer{out};
    std::optional<T> v;
    while (recv_or_done(d, in, v) == RecvStatus::value) {
      Probe::Visit visit(probe);
      if (!p(std::as_const(*v))) continue;
      if (!send_or_done(d, out, std::move(*v))) return;
    }
  });
  return out;
}

/// A queuing stage: passes `in` on through a channel buffering up to `capacity` values, so
/// a fast producer may run ahead of a slow consumer by that much.
/// @throws std::invalid_argument if `capacity` is 0 (that would be no buffer at all).
template <DoneSource D, RecvSource In>
RecvChan<source_value_t<In>> buffer(const D& done, const In& in, std::size_t capacity) {
  using T = source_value_t<In>;
  if (capacity == 0) throw std::invalid_argument("spindle::buffer: capacity must be at least 1");
  Chan<T> out(capacity);
  detail::start_stage([d = done_chan(done), in = recv_view(in), out = SendChan<T>(out)] {
    detail::CloseOnExit<T> closer{out};
    std::optional<T> v;
    while (recv_or_done(d, in, v) == RecvStatus::value) {
      if (!send_or_done(d, out, std::move(*v))) return;
    }
  });
  return out;
}

/// @cond INTERNAL
namespace detail {
template <class T>
void run_batch(const RecvChan<Unit>& done, const RecvChan<T>& in,
               const SendChan<std::vector<T>>& out, std::size_t n,
               std::optional<Clock::duration> max_wait) {
  CloseOnExit<std::vector<T>> closer{out};
  std::vector<T> batch;
  batch.reserve(n);
  RecvChan<TimePoint> timeout;  // nil while no batch is open; after() once one is
  for (;;) {
    bool stop = false, drained = false, flush = false;
    select(on_recv(in,
                   [&](std::optional<T> v) {
                     if (v) {
                       batch.push_back(std::move(*v));
                     } else {
                       drained = true;
                     }
                   }),
           on_recv(timeout, [&](auto) { flush = true; }),
           on_recv(done, [&](auto) { stop = true; }));
    if (stop) return;
    if (!drained && !flush && batch.size() == 1 && max_wait) timeout = after(*max_wait);
    if (drained || flush || batch.size() == n) {
      if (!batch.empty()) {
        if (!send_or_done(done, out, std::move(batch))) return;
        batch = std::vector<T>();
        batch.reserve(n);
      }
      timeout = RecvChan<TimePoint>();
      if (drained) return;
    }
  }
}
}  // namespace detail
/// @endcond

/// Groups the values of `in` into vectors of `n` (chunking, as bufio does for bytes). A
/// partial batch is sent when `max_wait` has passed since its first value arrived, and when
/// `in` closes; nothing is sent empty. When `done` fires the open batch is dropped.
/// @throws std::invalid_argument if `n` is 0 or `max_wait` is not positive.
template <DoneSource D, RecvSource In, class Rep, class Period>
RecvChan<std::vector<source_value_t<In>>> batch(const D& done, const In& in, std::size_t n,
                                                std::chrono::duration<Rep, Period> max_wait) {
  using T = source_value_t<In>;
  if (n == 0) throw std::invalid_argument("spindle::batch: batch size must be at least 1");
  if (max_wait <= max_wait.zero()) {
    throw std::invalid_argument("spindle::batch: max_wait must be positive");
  }
  Chan<std::vector<T>> out;
  auto wait = std::chrono::ceil<Clock::duration>(max_wait);
  detail::start_stage([d = done_chan(done), in = recv_view(in), out = SendChan<std::vector<T>>(out),
                       n, wait] { detail::run_batch<T>(d, in, out, n, wait); });
  return out;
}

/// batch() without a time limit: a partial batch is sent only when `in` closes.
/// @throws std::invalid_argument if `n` is 0.
template <DoneSource D, RecvSource In>
RecvChan<std::vector<source_value_t<In>>> batch(const D& done, const In& in, std::size_t n) {
  using T = source_value_t<In>;
  if (n == 0) throw std::invalid_argument("spindle::batch: batch size must be at least 1");
  Chan<std::vector<T>> out;
  detail::start_stage([d = done_chan(done), in = recv_view(in), out = SendChan<std::vector<T>>(out),
                       n] { detail::run_batch<T>(d, in, out, n, std::nullopt); });
  return out;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
