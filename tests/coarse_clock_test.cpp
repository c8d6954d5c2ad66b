// SPDX-License-Identifier: Apache-2.0
// The coarse clock parks stamp their time with (runtime/coarse_clock.hpp): kept fresh by a
// ticker thread while a hold exists, refreshed by the first hold after a quiet spell, and
// not ticking at all when nothing holds it.
#include "runtime/coarse_clock.hpp"

#include <gtest/gtest.h>

#include <atomic>
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
  // While held, the ticker moves the stamp on by itself, again and again. How soon depends
  // on when the machine lets the ticker run, so count refreshes, not milliseconds.
  auto seen = coarse_stamp();
  int moves = 0;
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (moves < 5 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(2ms);
    if (coarse_stamp() != seen) {
      seen = coarse_stamp();
      ++moves;
    }
  }
  EXPECT_EQ(moves, 5);
}

// A worker checks the clock itself when it parks tasks. With the ticker (and the monitor)
// starved, the first park of a worker, or one after a quiet spell, records a time within
// the check's lag bound of the real one; after a burst of quick parks, the worker checks
// again within kParkCheckMaxEvery parks.
TEST(CoarseClock, ParksRefreshAStaleClockThemselves) {
  using spindle::detail::kParkCheckLag;
  using spindle::detail::kParkCheckMaxEvery;
  spindle::detail::start_coarse_ticker();
  static std::atomic<bool> starve{true};
  starve = true;
  spindle::detail::g_background_refresh_hook.store(+[] {
    while (starve.load()) std::this_thread::sleep_for(1ms);
  });
  struct Unstarve {
    ~Unstarve() {
      starve = false;
      spindle::detail::g_background_refresh_hook.store(nullptr);
    }
  } unstarve;
  // How old the stamp a park records is, against the real clock read just before the park
  // (the park's own check, if it makes one, runs after that reading).
  spindle::detail::ParkClockCheck check;  // a fresh worker's: its first park checks
  auto staleness_of_a_park = [&check] {
    const auto before = read_stamp_clock();
    return std::chrono::nanoseconds(before.ns_since(check.stamp()));
  };
  std::thread([&] {
    std::this_thread::sleep_for(20ms);
    EXPECT_LT(staleness_of_a_park(), kParkCheckLag + 1ms);
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < 10000; ++i) (void)check.stamp();  // quick parks
      std::this_thread::sleep_for(20ms);
      std::uint32_t parks = 1;
      while (staleness_of_a_park() >= kParkCheckLag + 1ms && parks <= kParkCheckMaxEvery) ++parks;
      EXPECT_LE(parks, kParkCheckMaxEvery) << "round " << round;
      // A quiet spell of 20 ms was seen: the next park checks again.
      std::this_thread::sleep_for(20ms);
      EXPECT_LT(staleness_of_a_park(), kParkCheckLag + 1ms) << "round " << round;
    }
  }).join();
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
