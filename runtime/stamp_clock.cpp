// SPDX-License-Identifier: Apache-2.0
#include "runtime/stamp_clock.hpp"

#include <time.h>

#include <chrono>
#include <thread>

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

#if defined(__x86_64__)
struct Anchor {
  std::uint64_t ticks;
  std::int64_t ns;
};

// One (counter, CLOCK_MONOTONIC) pair: the clock read between two counter reads, the pair
// with the narrowest bracket of a few tries. A thread preempted between the two reads
// would otherwise skew the pair by the length of the preemption (milliseconds, on a busy
// machine), and the scale measured from it by as much over a span of a few milliseconds.
Anchor take_anchor() noexcept {
  constexpr std::uint64_t kGoodBracket = 4'000;  // ticks: ~1-2 us at 2-4 GHz
  Anchor best{0, 0};
  std::uint64_t best_width = ~std::uint64_t{0};
  for (int attempt = 0; attempt < 64 && best_width > kGoodBracket; ++attempt) {
    const std::uint64_t before = stamp_now();
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const std::uint64_t after = stamp_now();
    if (after >= before && after - before < best_width) {
      best_width = after - before;
      best = {before + best_width / 2,
              static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec};
    }
  }
  return best;
}

// The pair the scale is measured from: the earlier, the more precise the scale.
const Anchor& load_anchor() noexcept {
  static const Anchor anchor = take_anchor();
  return anchor;
}

// Taken when the library's static objects are initialised, long before most readings.
[[maybe_unused]] const Anchor& g_early_anchor = load_anchor();

constexpr std::int64_t kMinSpanNs = 2'000'000;
#endif

}  // namespace

StampReading read_stamp_clock() {
#if defined(__x86_64__)
  const Anchor& from = load_anchor();
  Anchor to = take_anchor();
  if (to.ns - from.ns < kMinSpanNs) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(kMinSpanNs - (to.ns - from.ns)));
    to = take_anchor();
  }
  StampReading r;
  r.now = to.ticks;
  if (to.ticks > from.ticks) {
    r.ns_per_tick =
        static_cast<double>(to.ns - from.ns) / static_cast<double>(to.ticks - from.ticks);
  }
  return r;
#elif defined(__aarch64__)
  std::uint64_t hz;
  asm volatile("mrs %0, cntfrq_el0" : "=r"(hz));
  StampReading r;
  r.now = stamp_now();
  if (hz != 0) r.ns_per_tick = 1e9 / static_cast<double>(hz);
  return r;
#else
  return StampReading{stamp_now(), 1.0};
#endif
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
