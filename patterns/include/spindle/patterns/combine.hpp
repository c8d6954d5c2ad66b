// SPDX-License-Identifier: Apache-2.0
/// @file
/// Combining channels: or_channel, or_done, tee, bridge, fan_in, fan_out.
#pragma once

#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "spindle/abi.hpp"
#include "spindle/patterns/loop.hpp"
#include "spindle/patterns/probe.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A channel that closes as soon as any of `inputs` delivers or closes (the "or-channel":
/// wait for the first of several done signals). With no inputs it is nil (never closes);
/// the single input of a one-element Unit list is returned as it is.
///
/// One watcher task serves all inputs, however many (Go's recursive version needs one per
/// few inputs). As in Go, if no input ever fires it waits for ever, so inputs should be done
/// channels that are eventually closed.
template <class T>
RecvChan<Unit> or_channel(std::vector<RecvChan<T>> inputs) {
  if (inputs.empty()) return RecvChan<Unit>();
  if constexpr (std::is_same_v<T, Unit>) {
    if (inputs.size() == 1) return inputs.front();
  }
  Chan<Unit> out;
  // One task for all inputs: a run-time sized select over them, plus the output itself so
  // that closing it from outside (it is a RecvChan, so only by a bug) cannot strand the task.
  detail::start_stage([inputs = std::move(inputs), out] {
    // Any case firing is the signal; which one and its value do not matter.
    static_cast<void>(select_recv(inputs, on_recv(RecvChan<Unit>(out))));
    try {
      out.close();
    } catch (const ChannelError&) {
    }
  });
  return out;
}

/// or_channel over a vector of channels rather than views.
template <class T>
RecvChan<Unit> or_channel(const std::vector<Chan<T>>& inputs) {
  return or_channel(std::vector<RecvChan<T>>(inputs.begin(), inputs.end()));
}

/// or_channel over done channels given in braces: `spindle::or_channel({a, b, c})`.
inline RecvChan<Unit> or_channel(std::initializer_list<RecvChan<Unit>> inputs) {
  return or_channel(std::vector<RecvChan<Unit>>(inputs));
}

/// The values of `in` until it closes or `done` fires, whichever is first: lets a consumer
/// range over a channel it does not control and still stop on done.
template <DoneSource D, RecvSource In>
RecvChan<source_value_t<In>> or_done(const D& done, const In& in) {
  using T = source_value_t<In>;
  Chan<T> out;
  detail::start_stage([d = done_chan(done), in = recv_view(in), out = SendChan<T>(out)] {
    detail::CloseOnExit<T> closer{out};
    std::optional<T> v;
    while (recv_or_done(d, in, v) == RecvStatus::value) {
      if (!send_or_done(d, out, std::move(*v))) return;
    }
  });
  return out;
}

/// Two channels that each receive every value of `in`, in order. The two consumers advance
/// in lock-step: the next value is read only after both took the current one.
template <DoneSource D, RecvSource In>
std::pair<RecvChan<source_value_t<In>>, RecvChan<source_value_t<In>>> tee(const D& done,
                                                                          const In& in) {
  using T = source_value_t<In>;
  static_assert(std::is_copy_constructible_v<T>, "spindle::tee: values must be copyable");
  Chan<T> out1, out2;
  detail::start_stage([d = done_chan(done), in = recv_view(in), out1 = SendChan<T>(out1),
                       out2 = SendChan<T>(out2)] {
    detail::CloseOnExit<T> closer1{out1};
    detail::CloseOnExit<T> closer2{out2};
    std::optional<T> v;
    while (recv_or_done(d, in, v) == RecvStatus::value) {
      SendChan<T> a = out1, b = out2;  // a case is switched off by making it nil
      for (int i = 0; i < 2; ++i) {
        bool stop = true;
        select(on_send(a, T(*v), [&] { a = SendChan<T>(), stop = false; }),
               on_send(b, T(*v), [&] { b = SendChan<T>(), stop = false; }), on_recv(d));
        if (stop) return;
      }
    }
  });
  return {RecvChan<T>(out1), RecvChan<T>(out2)};
}

/// Flattens a channel of channels: the values of each inner channel in turn, each until it
/// closes, in the order the channels arrive.
template <DoneSource D, RecvSource Streams>
requires RecvSource<source_value_t<Streams>> RecvChan<source_value_t<source_value_t<Streams>>>
bridge(const D& done, const Streams& streams) {
  using S = source_value_t<Streams>;
  using T = source_value_t<S>;
  Chan<T> out;
  detail::start_stage([d = done_chan(done), streams = recv_view(streams), out = SendChan<T>(out)] {
    detail::CloseOnExit<T> closer{out};
    std::optional<S> stream;
    while (recv_or_done(d, streams, stream) == RecvStatus::value) {
      RecvChan<T> s = recv_view(*stream);
      std::optional<T> v;
      RecvStatus st;
      while ((st = recv_or_done(d, s, v)) == RecvStatus::value) {
        if (!send_or_done(d, out, std::move(*v))) return;
      }
      if (st == RecvStatus::done) return;
    }
  });
  return out;
}

/// Merges `inputs` into one channel (fan-in): every value of every input, each input's
/// values in their order; closes when all inputs are closed (or `done` fires). One forwarding
/// task per input; the last one to finish closes the output.
template <DoneSource D, class T>
RecvChan<T> fan_in(const D& done, std::vector<RecvChan<T>> inputs) {
  Chan<T> out;
  if (inputs.empty()) {
    out.close();
    return out;
  }
  auto left = std::make_shared<std::atomic<std::size_t>>(inputs.size());
  RecvChan<Unit> d = done_chan(done);
  for (auto& input : inputs) {
    detail::start_stage([d, in = std::move(input), out = SendChan<T>(out), left] {
      struct LastCloses {
        const SendChan<T>& out;
        std::atomic<std::size_t>& left;
        ~LastCloses() {
          // acq_rel: the closer sees every other forwarder's sends as finished.
          if (left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            detail::CloseOnExit<T> closer{out};
          }
        }
      } last{out, *left};
      std::optional<T> v;
      while (recv_or_done(d, in, v) == RecvStatus::value) {
        if (!send_or_done(d, out, std::move(*v))) return;
      }
    });
  }
  return out;
}

/// fan_in over a vector of channels rather than views.
template <DoneSource D, class T>
RecvChan<T> fan_in(const D& done, const std::vector<Chan<T>>& inputs) {
  return fan_in(done, std::vector<RecvChan<T>>(inputs.begin(), inputs.end()));
}

/// fan_in over channels given in braces: `spindle::fan_in(done, {x, y})`.
template <DoneSource D, class T>
RecvChan<T> fan_in(const D& done, std::initializer_list<Chan<T>> inputs) {
  return fan_in(done, std::vector<RecvChan<T>>(inputs.begin(), inputs.end()));
}
/// fan_in over views given in braces.
template <DoneSource D, class T>
RecvChan<T> fan_in(const D& done, std::initializer_list<RecvChan<T>> inputs) {
  return fan_in(done, std::vector<RecvChan<T>>(inputs));
}

/// Fan-out: `workers` tasks share `in`, each applying `fn` to the values it takes and
/// sending the results on its own output channel (returned in worker order). Each value is
/// processed by exactly one worker; across outputs the order is not kept. Drain all the
/// outputs, e.g. with fan_in. A `probe` shared by the workers measures the stage as a whole.
/// @throws std::invalid_argument if `workers` is 0.
template <DoneSource D, RecvSource In, class F>
requires std::is_invocable_v < std::decay_t<F>
&, source_value_t<In>&& >
       std::vector<RecvChan<std::invoke_result_t<std::decay_t<F>&, source_value_t<In>&&>>> fan_out(
           const D& done, const In& in, std::size_t workers, F&& fn, Probe* probe = nullptr) {
  using T = source_value_t<In>;
  using U = std::invoke_result_t<std::decay_t<F>&, T&&>;
  if (workers == 0) throw std::invalid_argument("spindle::fan_out: needs at least 1 worker");
  std::vector<RecvChan<U>> outs;
  outs.reserve(workers);
  RecvChan<Unit> d = done_chan(done);
  RecvChan<T> input = recv_view(in);
  for (std::size_t i = 0; i < workers; ++i) {
    Chan<U> out;
    outs.emplace_back(out);
    detail::start_stage(
        [d, input, out = SendChan<U>(out), f = std::decay_t<F>(fn), probe]() mutable {
          detail::CloseOnExit<U> closer{out};
          std::optional<T> v;
          while (recv_or_done(d, input, v) == RecvStatus::value) {
            Probe::Visit visit(probe);
            if (!send_or_done(d, out, f(std::move(*v)))) return;
          }
        });
  }
  return outs;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
