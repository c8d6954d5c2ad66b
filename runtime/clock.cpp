#include "spindle/clock.hpp"

#include <chrono>

namespace spindle {

Clock::time_point Clock::now() noexcept {
  auto t = std::chrono::steady_clock::now().time_since_epoch();
  return time_point(std::chrono::duration_cast<duration>(t));
}

}  // namespace spindle
