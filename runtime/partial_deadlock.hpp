// SPDX-License-Identifier: Apache-2.0
// Partial deadlocks: sets of tasks that provably stay blocked for good while other tasks of
// the runtime may still run. What is proven, and why that is sound, is at the top of
// partial_deadlock.cpp; the public contract is Runtime::partial_deadlocks().
#pragma once

#include <vector>

#include "runtime/task_registry.hpp"
#include "spindle/abi.hpp"
#include "spindle/leaks.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Scans `registry` twice and returns the sets proven deadlocked (see the .cpp).
std::vector<PartialDeadlock> find_partial_deadlocks(const TaskRegistry& registry);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
