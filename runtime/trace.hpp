// SPDX-License-Identifier: Apache-2.0
// Recording side of spindle::trace. Call sites test on() first, so a process that never
// traces pays one relaxed load and a not-taken branch per event site.
#pragma once

#include <atomic>
#include <cstdint>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class TaskCore;

namespace trace {

enum class Event : std::uint8_t {
  spawn,  // arg: unused
  run,    // a worker starts running the task (until the next stop_* on the same thread)
  park,   // arg: the WaitKind it blocks on
  yield,
  exit,
  unpark,  // the task was made runnable by this thread
  steal,   // arg: victim worker index; task: the first stolen task
  stall,   // recorded by the monitor: the task has held worker `arg` past Options::stall_report
};

extern std::atomic<bool> g_on;

// SPINDLE_TRACE_HOOKS=0 (CMake option SPINDLE_TRACE_HOOKS=OFF) compiles every event site out;
// it exists to measure what the sites cost when tracing is off (perf/README.md).
#ifndef SPINDLE_TRACE_HOOKS
#define SPINDLE_TRACE_HOOKS 1
#endif

inline bool on() noexcept {
#if SPINDLE_TRACE_HOOKS
  // relaxed: a hint; start()/stop() publish the buffers through the registry lock.
  return g_on.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

/// Appends one event to the calling thread's ring.
void record(Event event, const TaskCore* task, std::uint32_t arg = 0) noexcept;

/// Names the calling thread's track ("worker 3 of runtime 2").
void name_thread(std::uint64_t runtime_id, std::size_t worker_index) noexcept;

/// Starts tracing from $SPINDLE_TRACE, once per process (called when a runtime starts).
void start_from_env() noexcept;

}  // namespace trace
}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
