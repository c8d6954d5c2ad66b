// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Unit, the value of a channel that only signals (Go's `chan struct{}`).
#pragma once

#include <compare>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A type with exactly one value. `Chan<Unit>` is a pure signal: closing it, or sending the
/// one value, is all it can say.
///
/// @code
/// spindle::Chan<spindle::Unit> done;
/// done.close();                 // every receiver now gets std::nullopt at once
/// @endcode
struct Unit {
  /// All Units are equal.
  friend constexpr bool operator==(Unit, Unit) noexcept { return true; }
  /// All Units are equivalent.
  friend constexpr std::strong_ordering operator<=>(Unit, Unit) noexcept {
    return std::strong_ordering::equal;
  }
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
