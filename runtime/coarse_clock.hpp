// A cheap, coarse reading of the monotonic clock (the tick of CLOCK_MONOTONIC_COARSE, a few
// ms), for diagnostics stamped on hot paths such as every park: "blocked for 3.2 s" needs no
// nanoseconds, and the precise clock costs a measurable share of a channel round trip.
#pragma once

#include <time.h>

#include <cstdint>

namespace spindle::detail {

inline std::int64_t coarse_now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace spindle::detail
