// SPDX-License-Identifier: Apache-2.0
// The leak detector: tasks(), leaks(), verify_no_leaks(), never-joined handles, per-runtime
// scoping, the teardown policy, and the GoogleTest listener.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "spindle/detail/waiter.hpp"
#include "spindle/spindle.hpp"
#include "spindle/testing.hpp"

using namespace std::chrono_literals;

namespace {

spindle::Options quiet(std::size_t workers = 2) {
  return spindle::Options{
      .workers = workers, .on_leak = spindle::LeakPolicy::ignore, .leak_check_wait = 20ms};
}

// Blocks the calling task until released; stands in for a task stuck on a channel.
struct Gate {
  std::atomic<spindle::detail::Waiter*> waiter{nullptr};
  void block() {
    spindle::detail::Waiter w;
    waiter.store(&w);
    w.park();
  }
  void release() {
    spindle::detail::Waiter* w;
    while ((w = waiter.exchange(nullptr)) == nullptr) std::this_thread::yield();
    w->unpark();
  }
};

TEST(LeakCheck, CleanRuntimeHasNoLeaks) {
  spindle::Runtime rt{quiet()};
  rt.block_on([] { spindle::spawn([] { return 1; }).join(); });
  EXPECT_TRUE(rt.leaks().empty());
  EXPECT_NO_THROW(rt.verify_no_leaks());
  EXPECT_TRUE(rt.tasks().empty());
}

TEST(LeakCheck, BlockedTaskIsReportedWithSpawnSiteAndState) {
  spindle::Runtime rt{quiet()};
  Gate gate;
  auto t = rt.spawn([&] { gate.block(); });
  const int spawn_line = __LINE__ - 1;
  while (gate.waiter.load() == nullptr) std::this_thread::yield();
  std::this_thread::sleep_for(5ms);  // let it finish parking
  auto live = rt.tasks();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].id, t.id());
  EXPECT_EQ(live[0].line, static_cast<std::uint32_t>(spawn_line));
  EXPECT_NE(live[0].file.find("leak_check_test.cpp"), std::string::npos);
  EXPECT_EQ(live[0].state, "blocked");
  auto leaks = rt.leaks();
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_NE(leaks.to_string().find("leak_check_test.cpp:" + std::to_string(spawn_line)),
            std::string::npos)
      << leaks.to_string();
  try {
    rt.verify_no_leaks();
    FAIL() << "expected LeakError";
  } catch (const spindle::LeakError& e) {
    EXPECT_NE(std::string(e.what()).find("leak_check_test.cpp"), std::string::npos);
  }
  gate.release();
  t.join();
  EXPECT_TRUE(rt.leaks().empty());
}

TEST(LeakCheck, StatesNameWhatTasksWaitOn) {
  spindle::Runtime rt{quiet()};
  auto sleeper = rt.spawn([] { spindle::sleep_for(1s); });
  Gate gate;
  auto blocked = rt.spawn([&] { gate.block(); });
  auto joiner = rt.spawn([&] { blocked.join(); });
  // Wait for both to block (bounded: on a loaded machine they may take a while to start).
  std::string states;
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  do {
    std::this_thread::sleep_for(2ms);
    states.clear();
    for (const auto& t : rt.tasks()) states += t.state + ";";
  } while (
      (states.find("sleep") == std::string::npos || states.find("join") == std::string::npos) &&
      std::chrono::steady_clock::now() < give_up);
  EXPECT_NE(states.find("sleep"), std::string::npos) << states;
  EXPECT_NE(states.find("join"), std::string::npos) << states;
  gate.release();
  joiner.join();
  sleeper.join();
}

TEST(LeakCheck, NeverJoinedFinishedTaskIsALeak) {
  spindle::Runtime rt{quiet()};
  {
    auto t = rt.spawn([] { return 5; });
    while (!t.done()) std::this_thread::yield();
  }  // dropped unjoined after it finished
  auto leaks = rt.leaks();
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_TRUE(leaks.tasks()[0].never_joined);
  EXPECT_EQ(leaks.tasks()[0].state, "finished");
  EXPECT_NE(leaks.to_string().find("never joined"), std::string::npos);
}

TEST(LeakCheck, HandleDroppedBeforeFinishIsReportedBothWhileAliveAndAfter) {
  spindle::Runtime rt{quiet()};
  Gate gate;
  {
    auto t = rt.spawn([&] { gate.block(); });
  }
  while (gate.waiter.load() == nullptr) std::this_thread::yield();
  auto alive = rt.leaks();
  ASSERT_EQ(alive.size(), 1u);
  EXPECT_TRUE(alive.tasks()[0].never_joined);
  gate.release();
  std::this_thread::sleep_for(20ms);
  auto after = rt.leaks();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.tasks()[0].state, "finished");
}

TEST(LeakCheck, DetachedFinishedTaskIsNotALeak) {
  spindle::Runtime rt{quiet()};
  std::atomic<bool> ran{false};
  rt.spawn([&] { ran = true; }).detach();
  while (!ran) std::this_thread::yield();
  EXPECT_TRUE(rt.leaks().empty()) << rt.leaks().to_string();
}

TEST(LeakCheck, CheckFromInsideATaskExcludesTheCaller) {
  spindle::Runtime rt{quiet()};
  bool clean = rt.block_on([&] { return rt.leaks().empty(); });
  EXPECT_TRUE(clean);
}

TEST(LeakCheck, RuntimesDoNotSeeEachOthersTasks) {
  spindle::Runtime a{quiet()};
  spindle::Runtime b{quiet()};
  Gate gate;
  auto t = a.spawn([&] { gate.block(); });
  while (gate.waiter.load() == nullptr) std::this_thread::yield();
  EXPECT_EQ(a.leaks().size(), 1u);
  EXPECT_TRUE(b.leaks().empty());
  gate.release();
  t.join();
}

TEST(LeakCheck, WaitsForTasksWindingDown) {
  spindle::Runtime rt{spindle::Options{.workers = 2, .leak_check_wait = 2s}};
  rt.spawn([] { spindle::sleep_for(30ms); }).detach();
  EXPECT_TRUE(rt.leaks().empty());  // finished within the wait
}

void leak_with_abort_policy() {
  spindle::Runtime rt{spindle::Options{.workers = 1, .on_leak = spindle::LeakPolicy::abort}};
  rt.spawn([] { spindle::sleep_for(1h); }).detach();
  std::this_thread::sleep_for(10ms);
}

TEST(LeakCheckDeathTest, AbortPolicyEndsTheProcessWithTheReport) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(leak_with_abort_policy(), "leaked task.*sleep.*leak_check_test.cpp");
}

void leak_one(spindle::LeakPolicy p) {
  spindle::Runtime rt{spindle::Options{.workers = 1, .on_leak = p, .leak_check_wait = 0ms}};
  rt.spawn([] { spindle::sleep_for(1h); }).detach();
  std::this_thread::sleep_for(10ms);
}

// The scenarios below leak on purpose, so they run in child processes: the leaks must not
// reach this process's own LeakCheck listener.
TEST(LeakCheckDeathTest, ReportPolicyPrintsTheLeaks) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        leak_one(spindle::LeakPolicy::report);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "1 leaked task.*\\n.*sleep.*leak_check_test.cpp");
}

TEST(LeakCheckDeathTest, EnvironmentOverridesThePolicy) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("SPINDLE_ON_LEAK", "ignore", 1);
        ::testing::internal::CaptureStderr();
        leak_one(spindle::LeakPolicy::report);
        std::string printed = ::testing::internal::GetCapturedStderr();
        // No report, but one line saying that reports are off.
        std::exit(printed.find("leaked task") == std::string::npos &&
                          printed.find("SPINDLE_ON_LEAK=ignore: leak reports are off") !=
                              std::string::npos
                      ? 0
                      : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(LeakCheck, ListenerFailsTheTestThatLeaked) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  spindle::testing::LeakCheck check;
  spindle::Runtime rt{quiet()};

  check.OnTestStart(*info);
  rt.block_on([] { spindle::spawn([] {}).join(); });
  check.OnTestEnd(*info);  // clean: no failure

  check.OnTestStart(*info);
  Gate gate;
  auto t = rt.spawn([&] { gate.block(); });
  while (gate.waiter.load() == nullptr) std::this_thread::yield();
  EXPECT_NONFATAL_FAILURE(check.OnTestEnd(*info), "leak_check_test.cpp");
  gate.release();
  t.join();
}

constexpr int kAttributedTestLine = __LINE__ + 1;
TEST(LeakCheck, ListenerPlacesTheFailureAtTheTest) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  spindle::testing::LeakCheck check;
  spindle::Runtime rt{quiet()};
  check.OnTestStart(*info);
  Gate gate;
  auto t = rt.spawn([&] { gate.block(); });
  while (gate.waiter.load() == nullptr) std::this_thread::yield();
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter capture(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    check.OnTestEnd(*info);
  }
  gate.release();
  t.join();
  ASSERT_EQ(failures.size(), 1);
  const ::testing::TestPartResult& failure = failures.GetTestPartResult(0);
  ASSERT_NE(failure.file_name(), nullptr);
  EXPECT_TRUE(std::string(failure.file_name()).ends_with("leak_check_test.cpp"))
      << failure.file_name();
  EXPECT_EQ(failure.line_number(), kAttributedTestLine);
  EXPECT_NE(std::string(failure.message()).find("LeakCheck.ListenerPlacesTheFailureAtTheTest"),
            std::string::npos)
      << failure.message();
}

TEST(LeakCheckDeathTest, ListenerHearsOfRuntimesDestroyedDuringTheTest) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        spindle::testing::LeakCheck check;
        check.OnTestStart(*info);
        leak_one(spindle::LeakPolicy::report);
        EXPECT_NONFATAL_FAILURE(check.OnTestEnd(*info), "sleep");
        std::exit(::testing::Test::HasFailure() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
