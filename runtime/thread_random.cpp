// SPDX-License-Identifier: Apache-2.0
// The per-thread random source's seeding, and its draws under a simulation.
#include "spindle/detail/thread_random.hpp"

#include <chrono>
#include <functional>
#include <thread>

#include "runtime/sim_core.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

constinit thread_local std::uint64_t t_random_state = 0;

std::size_t random_below_slow(std::size_t bound) noexcept {
  // Under a simulation the draw comes from its seed, so a run replays.
  if (SimCore* sim = t_current_sim; sim != nullptr)
    return static_cast<std::size_t>(sim->random(bound));
  const auto t =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  const auto id =
      static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  t_random_state = (t ^ (id * 0x9e3779b97f4a7c15ULL)) | 1;  // odd: never zero again
  return random_below(bound);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
