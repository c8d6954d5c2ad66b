// SPDX-License-Identifier: Apache-2.0
// The coarse clock parks stamp their time with (runtime/coarse_clock.hpp): kept fresh by a
// ticker thread while a hold exists, refreshed by the first hold after a quiet spell, and
// not ticking at all when nothing holds it.
#include "runtime/coarse_clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "runtime/stamp_clock.hpp"

namespace {

using namespace std::chrono_literals;
using spindle::detail::coarse_stamp;
using spindle::detail::coarse_ticker_asleep;
using spindle::detail::CoarseClockHold;
using spindle::detail::read_stamp_clock;

// How far the coarse clock lags the exact one right now.
std::chrono::nanoseconds lag() {
  return std::chrono::nanoseconds(read_stamp_clock().ns_since(coarse_stamp()));
}

// Waits (up to 5 s) for the ticker to be asleep or awake, as asked.
bool ticker_becomes(bool asleep) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (coarse_ticker_asleep() != asleep) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(CoarseClock, KeepsUpWhileHeld) {
  spindle::detail::start_coarse_ticker();
  CoarseClockHold hold;
  // Over 60 ms the stamp must keep moving: it never lags by more than a few ticks (generous
  // for sanitizer builds on a loaded machine: 25 ms), while 60 ms of real time pass.
  const auto first = coarse_stamp();
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(10ms);
    EXPECT_LT(lag(), 25ms);
  }
  EXPECT_GT(coarse_stamp(), first);
}

TEST(CoarseClock, SleepsWithoutHoldsAndTheFirstHoldBringsItUpToDate) {
  spindle::detail::start_coarse_ticker();
  // Nothing holds it in this process: after its linger the ticker sleeps, and the stamp
  // stops moving.
  ASSERT_TRUE(ticker_becomes(true));
  std::this_thread::sleep_for(40ms);
  EXPECT_GE(lag(), 40ms);
  {
    CoarseClockHold hold;  // a worker waking up: must not record parks 40 ms in the past
    EXPECT_LT(lag(), 5ms);
    EXPECT_TRUE(ticker_becomes(false));
    std::this_thread::sleep_for(30ms);
    EXPECT_LT(lag(), 25ms);  // ticking again
  }
  EXPECT_TRUE(ticker_becomes(true));
}

}  // namespace
