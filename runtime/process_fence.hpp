// SPDX-License-Identifier: Apache-2.0
// A process-wide memory barrier (Linux membarrier, private expedited): the slow half of an
// asymmetric fence. A rare event (runtime teardown) pays for one system call so that a hot
// path (claiming a parked task) can order a store before a load without a locked
// instruction: after process_fence() returns, every thread of the process has passed a
// full barrier since the call began.
#pragma once

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Registers the process for process_fence() on first use; false where the kernel (or a
/// sandbox) does not offer it, and then the hot paths must keep their locked instructions.
bool process_fence_available() noexcept;

/// A full memory barrier on every running thread of the process. Only when
/// process_fence_available() returned true.
void process_fence() noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
