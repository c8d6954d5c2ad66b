// SPDX-License-Identifier: Apache-2.0
// The runtime's word to data structures about the thread they are used on: whether it is
// the worker of a one-worker runtime, the only thread that runs that runtime's tasks.
//
// A structure made on such a thread may bias itself to it (a buffered channel's ring does:
// chan_ring.hpp, "Bias") and use plain accesses while only that thread comes, provided it
// revokes the bias with a process fence when another thread arrives. So the tag is set only
// where process fences exist.
#pragma once

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Non-null (a tag unique to the worker) on the worker thread of a one-worker runtime while
/// it runs, when process fences are available; nullptr on every other thread.
extern constinit thread_local const void* t_solo_worker_tag;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
