// SPDX-License-Identifier: Apache-2.0
#include "spindle/clock.hpp"

#include <chrono>

#include "runtime/sim_core.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

Clock::time_point Clock::now() noexcept {
  // The thread driving a simulation sees its virtual time; every other thread sees the
  // machine's monotonic clock.
  if (const detail::SimCore* sim = detail::t_current_sim; sim != nullptr) {
    return time_point(duration(sim->now_ns()));
  }
  auto t = std::chrono::steady_clock::now().time_since_epoch();
  return time_point(std::chrono::duration_cast<duration>(t));
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
