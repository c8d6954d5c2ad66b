// SPDX-License-Identifier: Apache-2.0
// ChanStatus: the outcome of a non-blocking channel operation, the one answer every flavor
// and the ring give back.
#pragma once

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Outcome of a non-blocking channel operation.
enum class ChanStatus {
  ok,         ///< done
  not_ready,  ///< would block (buffer full / empty, no partner waiting)
  closed,     ///< the channel is closed (and, for a receive, drained)
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
