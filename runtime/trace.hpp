// Recording side of spindle::trace. Call sites test on() first, so a process that never
// traces pays one relaxed load and a not-taken branch per event site.
#pragma once

#include <atomic>
#include <cstdint>

namespace spindle::detail {

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
};

extern std::atomic<bool> g_on;

inline bool on() noexcept {
  // relaxed: a hint; start()/stop() publish the buffers through the registry lock.
  return g_on.load(std::memory_order_relaxed);
}

/// Appends one event to the calling thread's ring.
void record(Event event, const TaskCore* task, std::uint32_t arg = 0) noexcept;

/// Names the calling thread's track ("worker 3 of runtime 2").
void name_thread(std::uint64_t runtime_id, std::size_t worker_index) noexcept;

/// Starts tracing from $SPINDLE_TRACE, once per process (called when a runtime starts).
void start_from_env() noexcept;

}  // namespace trace
}  // namespace spindle::detail
