// SPDX-License-Identifier: Apache-2.0
// The cache of task records behind TaskCore::operator new / delete (task_alloc.cpp).
#pragma once

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Hands the records in the shared pool back to the system allocator. Called when the last
/// runtime has stopped: a burst of tasks should not pin its records' memory for the life of
/// a process that no longer schedules anything. (Threads' own small caches stay.)
void release_pooled_task_records() noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
