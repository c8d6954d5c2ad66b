// SPDX-License-Identifier: Apache-2.0
// The runtime's per-thread random source, for choices that must be fair but not secret
// (the order in which a select polls its cases).
//
// A simulation replays a run from its seed: while one runs on a thread (SimScope) the state
// is zero, so every draw takes the out-of-line path, which asks the simulation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// The state of this thread's random source (xorshift64*). Zero means "not seeded yet, or a
/// simulation runs on this thread": the draw then takes the out-of-line path.
extern constinit thread_local std::uint64_t t_random_state;
/// random_below() when t_random_state is zero: seeds it, or draws from the simulation.
std::size_t random_below_slow(std::size_t bound) noexcept;

/// A uniform draw in [0, bound); inline, because a select over two ready channels spends
/// about as long drawing as polling.
[[gnu::always_inline]] inline std::size_t random_below(std::size_t bound) noexcept {
  std::uint64_t s = t_random_state;
  if (s == 0) [[unlikely]]
    return random_below_slow(bound);
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  t_random_state = s;
  // The high half of a 64x64-bit product: uniform enough over tiny bounds (bias below
  // bound / 2^64) and no 64-bit divide.
  __extension__ using Wide = unsigned __int128;  // __extension__: -Wpedantic accepts it
  return static_cast<std::size_t>((static_cast<Wide>(s * 0x2545f4914f6cdd1dULL) * bound) >> 64);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
