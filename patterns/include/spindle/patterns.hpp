// SPDX-License-Identifier: Apache-2.0
/// @file
/// The concurrency patterns of "Concurrency in Go", chapter 4, over spindle channels.
///
/// Every pattern takes a done signal first — a RecvChan<Unit>, a Chan<Unit> or a Context —
/// and an input channel as a Chan<T> or RecvChan<T>. Every stage is a task started with
/// spindle::spawn (so patterns are called from inside a task) that exits, closing its
/// output, when its input is drained or done fires: close done (or cancel the context) and
/// the whole pipeline winds down, leaving no task behind. Arguments that cannot work throw
/// std::invalid_argument when the pattern is called.
///
/// @code
/// auto [ctx, cancel] = spindle::with_cancel(spindle::background());
/// auto squares = spindle::map(ctx, spindle::take(ctx, spindle::repeat_fn(ctx, rnd), 10),
///                             [](int v) { return v * v; });
/// for (int v : squares) use(v);
/// cancel();
/// @endcode
///
///  - patterns/loop.hpp        DoneSource, RecvSource, recv_or_done, send_or_done
///  - patterns/generators.hpp  generate, repeat, repeat_fn, take
///  - patterns/stages.hpp      map, filter, buffer, batch
///  - patterns/combine.hpp     or_channel, or_done, tee, bridge, fan_in, fan_out
///  - patterns/results.hpp     try_map, route_errors (Result<T> pipelines)
///  - patterns/probe.hpp       Probe (λ, W, L per stage, for Little's law)
///  - patterns/pipeline.hpp    Stage values composed with `|`, Flow, spindle::stage::*
///
/// Stage functions (map's fn, filter's predicate, ...) should not throw: an exception ends
/// the stage (its output is closed) and, escaping a detached task, goes to the
/// unhandled-exception handler (spindle::set_unhandled_exception_handler; the default prints
/// it and calls std::terminate). Send failures downstream as Result<T> instead.
#pragma once

#include "spindle/patterns/combine.hpp"
#include "spindle/patterns/generators.hpp"
#include "spindle/patterns/loop.hpp"
#include "spindle/patterns/pipeline.hpp"
#include "spindle/patterns/probe.hpp"
#include "spindle/patterns/results.hpp"
#include "spindle/patterns/stages.hpp"
