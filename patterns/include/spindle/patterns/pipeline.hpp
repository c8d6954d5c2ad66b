// SPDX-License-Identifier: Apache-2.0
/// @file
/// Pipelines as values: stages that compose with `|`, are passed around, and run later.
#pragma once

#include <chrono>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "spindle/abi.hpp"
#include "spindle/patterns/combine.hpp"
#include "spindle/patterns/generators.hpp"
#include "spindle/patterns/loop.hpp"
#include "spindle/patterns/results.hpp"
#include "spindle/patterns/stages.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A reified pipeline stage: a function from (done, input channel) to output channel, kept
/// as a value until it is run. Stages compose left to right with `|`, and a composition is a
/// stage again, so whole pipelines can be built once, stored, passed to functions and run on
/// any number of inputs. The factories live in spindle::stage.
///
/// @code
/// auto clean = spindle::stage::map([](int v) { return v * v; }) |
///              spindle::stage::filter([](int v) { return v % 2 == 1; });
/// spindle::RecvChan<int> out = clean(done, input);            // run it
/// auto out2 = spindle::flow(done, other_input) | clean | spindle::stage::take(3);
/// for (int v : out2.chan()) ...
/// @endcode
template <class F>
class Stage {
 public:
  /// Wraps `fn`, a callable `(RecvChan<Unit> done, RecvChan<T> in) -> RecvChan<U>`; prefer
  /// the factories in spindle::stage (stage::make for a callable of your own).
  explicit Stage(F fn) : fn_(std::move(fn)) {}

  /// Runs the stage (starting its tasks) on `in`, stopping when `done` fires.
  template <DoneSource D, RecvSource In>
  auto operator()(const D& done, const In& in) const {
    return fn_(done_chan(done), recv_view(in));
  }

  /// `a | b`: a stage that runs a, then b on a's output.
  template <class G>
  friend auto operator|(Stage a, Stage<G> b) {
    return Stage<ComposeFn<G>>(ComposeFn<G>{std::move(a), std::move(b)});
  }

 private:
  template <class G>
  struct ComposeFn {
    Stage first;
    Stage<G> second;
    template <class T>
    auto operator()(const RecvChan<Unit>& done, const RecvChan<T>& in) const {
      return second(done, first(done, in));
    }
  };
  template <class G>
  friend class Stage;

  F fn_;
};

/// A running pipeline: a done signal and the channel its last stage produces. `flow | stage`
/// runs the stage on the channel and yields the next flow.
template <class T>
class Flow {
 public:
  /// A flow whose stages stop on `done` and whose current output is `chan`; usually made by
  /// spindle::flow().
  Flow(RecvChan<Unit> done, RecvChan<T> chan) : done_(std::move(done)), chan_(std::move(chan)) {}
  /// The output channel so far.
  const RecvChan<T>& chan() const noexcept { return chan_; }
  /// The output channel so far, so a flow can be passed where a RecvChan<T> is expected.
  operator RecvChan<T>() const { return chan_; }  // NOLINT(google-explicit-constructor)
  /// The done signal every stage of this flow stops on.
  const RecvChan<Unit>& done() const noexcept { return done_; }

  /// Runs stage `s` on the flow's output (starting its tasks now) and returns the flow of
  /// its output, with the same done signal.
  template <class F>
  friend auto operator|(const Flow& f, const Stage<F>& s) {
    auto out = s(f.done_, f.chan_);
    using U = typename decltype(out)::value_type;
    return Flow<U>(f.done_, std::move(out));
  }

 private:
  RecvChan<Unit> done_;
  RecvChan<T> chan_;
};

/// Starts a flow from an existing channel.
template <DoneSource D, RecvSource In>
Flow<source_value_t<In>> flow(const D& done, const In& in) {
  return Flow<source_value_t<In>>(done_chan(done), recv_view(in));
}

/// Starts a flow from values (generate()).
template <DoneSource D, class T>
Flow<T> flow(const D& done, std::vector<T> values) {
  RecvChan<Unit> d = done_chan(done);
  return Flow<T>(d, generate(d, std::move(values)));
}

/// Factories of Stage values, one per pattern with a single input and output.
namespace stage {

/// Wraps any callable `(RecvChan<Unit> done, RecvChan<T> in) -> RecvChan<U>` as a Stage,
/// so hand-written stages compose with the factories below.
/// @code
/// auto doubled = spindle::stage::make([](const spindle::RecvChan<spindle::Unit>& d,
///                                        const spindle::RecvChan<int>& in) {
///   return spindle::map(d, in, [](int v) { return 2 * v; });
/// });
/// @endcode
template <class F>
Stage<std::decay_t<F>> make(F&& fn) {
  return Stage<std::decay_t<F>>(std::forward<F>(fn));
}

/// spindle::map as a stage.
template <class F>
auto map(F fn, Probe* probe = nullptr) {
  return make([fn = std::move(fn), probe](const RecvChan<Unit>& d, const auto& in) {
    return spindle::map(d, in, fn, probe);
  });
}
/// spindle::filter as a stage.
template <class P>
auto filter(P pred, Probe* probe = nullptr) {
  return make([pred = std::move(pred), probe](const RecvChan<Unit>& d, const auto& in) {
    return spindle::filter(d, in, pred, probe);
  });
}
/// spindle::take as a stage.
inline auto take(std::size_t n) {
  return make([n](const RecvChan<Unit>& d, const auto& in) { return spindle::take(d, in, n); });
}
/// spindle::or_done as a stage.
inline auto or_done() {
  return make([](const RecvChan<Unit>& d, const auto& in) { return spindle::or_done(d, in); });
}
/// spindle::buffer as a stage. @throws std::invalid_argument (when run) for capacity 0.
inline auto buffer(std::size_t capacity) {
  return make([capacity](const RecvChan<Unit>& d, const auto& in) {
    return spindle::buffer(d, in, capacity);
  });
}
/// spindle::batch as a stage. @throws std::invalid_argument (when run) as batch does.
template <class Rep, class Period>
auto batch(std::size_t n, std::chrono::duration<Rep, Period> max_wait) {
  return make([n, max_wait](const RecvChan<Unit>& d, const auto& in) {
    return spindle::batch(d, in, n, max_wait);
  });
}
/// spindle::batch without a time limit as a stage: partial batches only when the input
/// closes. @throws std::invalid_argument (when run) if `n` is 0.
inline auto batch(std::size_t n) {
  return make([n](const RecvChan<Unit>& d, const auto& in) { return spindle::batch(d, in, n); });
}
/// fan_out into `workers` tasks, then fan_in their outputs: a stage widened `workers` times
/// (values may come out in a different order).
template <class F>
auto parallel_map(std::size_t workers, F fn, Probe* probe = nullptr) {
  return make([workers, fn = std::move(fn), probe](const RecvChan<Unit>& d, const auto& in) {
    return spindle::fan_in(d, spindle::fan_out(d, in, workers, fn, probe));
  });
}
/// spindle::try_map as a stage.
template <class F>
auto try_map(F fn) {
  return make([fn = std::move(fn)](const RecvChan<Unit>& d, const auto& in) {
    return spindle::try_map(d, in, fn);
  });
}
/// spindle::route_errors as a stage.
template <class E>
auto route_errors(E on_error) {
  return make([on_error = std::move(on_error)](const RecvChan<Unit>& d, const auto& in) {
    return spindle::route_errors(d, in, on_error);
  });
}

}  // namespace stage
}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
