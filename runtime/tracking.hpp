// SPDX-License-Identifier: Apache-2.0
// Whether the runtime tracks tasks for diagnostics: the task registry (Runtime::tasks(),
// leak checks, dumps, deadlock reports), spawn times, parent ids and what a parked task
// waits on. On by default; the CMake option SPINDLE_TRACK_TASKS=OFF compiles it out, which
// exists to measure its cost (perf/track_bench.cpp): without it every report is empty.
#pragma once

#include "spindle/abi.hpp"

#ifndef SPINDLE_TRACK_TASKS
#define SPINDLE_TRACK_TASKS 1
#endif

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

inline constexpr bool kTrackTasks = SPINDLE_TRACK_TASKS != 0;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
