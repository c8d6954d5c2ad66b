// SPDX-License-Identifier: Apache-2.0
/// @file
/// Everything of spindle except the GoogleTest helpers (<spindle/testing.hpp>).
#pragma once

#include "spindle/blocking.hpp"
#include "spindle/chan.hpp"
#include "spindle/clock.hpp"
#include "spindle/context.hpp"
#include "spindle/errc.hpp"
#include "spindle/errgroup.hpp"
#include "spindle/fs.hpp"
#include "spindle/mutex.hpp"
#include "spindle/net.hpp"
#include "spindle/once.hpp"
#include "spindle/options.hpp"
#include "spindle/patterns.hpp"
#include "spindle/result.hpp"
#include "spindle/runtime.hpp"
#include "spindle/select.hpp"
#include "spindle/semaphore.hpp"
#include "spindle/task.hpp"
#include "spindle/timers.hpp"
#include "spindle/unhandled.hpp"
#include "spindle/unit.hpp"
#include "spindle/version.hpp"
#include "spindle/waitgroup.hpp"

/// @namespace spindle
/// Go's concurrency model for C++: tasks (green threads) on an M:N work-stealing Runtime,
/// channels (Chan, SendChan, RecvChan) with select(), Context cancellation, the sync
/// primitives (WaitGroup, Mutex, Once, Semaphore, ErrGroup), timers (after(), Ticker) and the
/// pipeline patterns of <spindle/patterns.hpp>. Every blocking call parks the calling task,
/// or blocks the calling thread outside any task, so tasks and plain threads can share one
/// channel. See the @ref design "design overview" for how the layers fit together.
