// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::trace: record what the schedulers do and write it as Chrome trace-event JSON,
/// which Perfetto (ui.perfetto.dev) and chrome://tracing open.
#pragma once

#include <cstddef>
#include <string>

#include "spindle/abi.hpp"

/// Scheduler tracing: start() and stop() record, per thread, what every runtime's workers
/// run, and write Chrome trace-event JSON.
namespace spindle::inline SPINDLE_ABI_NAMESPACE::trace {

/// Default number of events each thread keeps (older ones are overwritten).
inline constexpr std::size_t kDefaultEventsPerThread = std::size_t{1} << 16;

/// Starts recording the scheduler events of every runtime in the process: task spawn, each
/// run of a task on a worker (one slice per run, ending in park / yield / exit; a park names
/// what it waits on, e.g. "chan recv"), wake-ups and steals. Each thread records into its own
/// ring of `events_per_thread` events, so recording takes no lock and a long run keeps its
/// most recent events. Setting the environment variable `SPINDLE_TRACE=file.json` does the
/// same when the first Runtime starts and writes the file at process exit.
///
/// @code
/// spindle::trace::start("run.json");
/// rt.block_on(work);
/// std::size_t events = spindle::trace::stop();  // writes run.json
/// @endcode
/// @throws std::logic_error when tracing is already on; std::invalid_argument for an empty
/// path or a ring of fewer than 16 events.
void start(const std::string& path, std::size_t events_per_thread = kDefaultEventsPerThread);

/// Stops recording and writes the JSON file named by start(). Returns the number of trace
/// events written.
/// @throws std::logic_error when tracing is off; std::system_error (naming the path) when the
/// file cannot be written.
std::size_t stop();

/// True between start() and stop().
bool active() noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::trace
