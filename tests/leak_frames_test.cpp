// SPDX-License-Identifier: Apache-2.0
// Where a leaked task is blocked: leak reports, deadlock reports and dumps show the innermost
// frames of each parked task, read from its saved registers, starting at the code that
// called the blocking operation.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include "spindle/spindle.hpp"
#include "spindle/testing.hpp"

using namespace std::chrono_literals;

volatile int g_sink = 0;

// Not inlined, and with work after the blocking call so that the call is not a tail call:
// the frames must name these functions.
__attribute__((noinline)) void leak_frames_receiver(spindle::Chan<int>& ch) {
  g_sink = ch.recv().value_or(0);
}

__attribute__((noinline)) void leak_frames_outer(spindle::Chan<int>& ch) {
  leak_frames_receiver(ch);
  g_sink = g_sink + 1;
}

namespace {

spindle::Options quiet() {
  return spindle::Options{.workers = 2,
                          .on_leak = spindle::LeakPolicy::ignore,
                          .deadlock_after = 50ms,
                          .leak_check_wait = 20ms};
}

// Waits until every task of `rt` is blocked in `state`.
void wait_for_state(spindle::Runtime& rt, const std::string& state) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    bool all = true;
    for (const auto& t : rt.tasks()) all = all && t.state == state;
    if (all || std::chrono::steady_clock::now() > give_up) return;
    std::this_thread::sleep_for(1ms);
  }
}

TEST(LeakFrames, LeakReportStartsAtTheFunctionThatCalledTheBlockingOperation) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> ch;
  auto t = rt.spawn([ch]() mutable { leak_frames_outer(ch); });
  wait_for_state(rt, "chan recv");
  const spindle::LeakReport leaks = rt.leaks();
  ASSERT_EQ(leaks.size(), 1u);
  const auto& frames = leaks.tasks()[0].frames;
  ASSERT_GE(frames.size(), 2u) << leaks.to_string();
  EXPECT_TRUE(frames[0].starts_with("leak_frames_receiver(")) << leaks.to_string();
  EXPECT_TRUE(frames[1].starts_with("leak_frames_outer(")) << leaks.to_string();
  EXPECT_LE(frames.size(), 8u);
  // The report's text lists them under the task.
  EXPECT_NE(leaks.to_string().find("\n    at leak_frames_receiver("), std::string::npos)
      << leaks.to_string();
  ch.close();
  t.join();
}

TEST(LeakFrames, LeakCheckFailureShowsTheFrames) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  spindle::testing::LeakCheck check;
  spindle::Runtime rt{quiet()};
  check.OnTestStart(*info);
  spindle::Chan<int> ch;
  auto t = rt.spawn([ch]() mutable { leak_frames_outer(ch); });
  wait_for_state(rt, "chan recv");
  EXPECT_NONFATAL_FAILURE(check.OnTestEnd(*info), "at leak_frames_receiver(");
  ch.close();
  t.join();
}

TEST(LeakFrames, DeadlockAndDumpShowTheFrames) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> ch;
  try {
    rt.block_on([ch]() mutable { leak_frames_outer(ch); });
    FAIL() << "expected spindle::Deadlock";
  } catch (const spindle::Deadlock& d) {
    EXPECT_NE(std::string(d.what()).find("at leak_frames_receiver("), std::string::npos)
        << d.what();
    spindle::testing::expect_leaks(d.tasks());
  }
  std::ostringstream dump;
  rt.dump(dump);
  EXPECT_NE(dump.str().find("at leak_frames_receiver("), std::string::npos) << dump.str();
}

}  // namespace
