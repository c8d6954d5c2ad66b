// SPDX-License-Identifier: Apache-2.0
// The stamp clock behind "blocked for" and a task's age: a counter read on hot paths, turned
// into nanoseconds only when read (runtime/stamp_clock.hpp).
#include "runtime/stamp_clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace {

using namespace std::chrono_literals;
using spindle::detail::read_stamp_clock;
using spindle::detail::stamp_now;
using spindle::detail::StampReading;

// A stamp taken inside a steady_clock bracket converts to no less than the sleep and no
// more than the bracket: the scale is right, not just the sign.
TEST(StampClock, ElapsedTimeMatchesTheMonotonicClock) {
  for (const auto sleep : {5ms, 30ms}) {
    const auto before = std::chrono::steady_clock::now();
    const std::uint64_t stamp = stamp_now();
    std::this_thread::sleep_for(sleep);
    const StampReading now = read_stamp_clock();
    const auto after = std::chrono::steady_clock::now();
    const auto elapsed = std::chrono::nanoseconds(now.ns_since(stamp));
    // The scale is measured from anchors each good to a microsecond or two, over at least
    // 2 ms: within 0.2% at worst; 0.5% allows for it.
    EXPECT_GE(elapsed.count(), std::chrono::nanoseconds(sleep).count() * 995 / 1000);
    EXPECT_LE(elapsed.count(), (after - before).count() * 1005 / 1000);
  }
}

TEST(StampClock, AStampAtOrAfterTheReadingIsZeroNanosecondsAgo) {
  const StampReading now = read_stamp_clock();
  EXPECT_EQ(now.ns_since(now.now), 0);
  EXPECT_EQ(now.ns_since(now.now + 1000), 0);
  EXPECT_GT(now.ns_since(now.now - 1000), 0);
}

TEST(StampClock, NeverRunsBackwardsOnOneThread) {
  std::uint64_t last = stamp_now();
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t t = stamp_now();
    ASSERT_GE(t, last);
    last = t;
  }
}

}  // namespace
