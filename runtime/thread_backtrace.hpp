// SPDX-License-Identifier: Apache-2.0
// A backtrace of another thread, taken on that thread by a signal: the stall report's "where
// is it running now". The handler only walks its own stack into a buffer the requester owns
// (glibc's backtrace(), loaded ahead of time so that the walk in the handler allocates
// nothing), then raises a flag; the requester symbolises the frames on its own thread.
//
// The signal is SIGURG, as Go's preemption uses: ignored by default, and rarely used by
// programs. A SIGURG that spindle did not ask for goes to the handler installed before
// spindle's, if any. A blocking system call that the signal lands in may return EINTR.
#pragma once

#include <pthread.h>

#include <chrono>
#include <string>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Frames of `thread`'s stack, one per line ("  #0 symbol+offset [address]"), or an empty
/// string if the thread did not answer within `wait` (it may be blocked with the signal
/// masked). One request at a time per process; others wait for it.
std::string thread_backtrace(pthread_t thread, std::chrono::milliseconds wait);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
