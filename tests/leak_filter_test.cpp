// SPDX-License-Identifier: Apache-2.0
// Narrowing leak checks: baselines (goleak's IgnoreCurrent), ignore rules by spawn-site
// function or file, and their use from testing::LeakCheck.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "spindle/spindle.hpp"
#include "spindle/testing.hpp"

using namespace std::chrono_literals;

namespace {

spindle::Options quiet() {
  return spindle::Options{
      .workers = 2, .on_leak = spindle::LeakPolicy::ignore, .leak_check_wait = 20ms};
}

spindle::Task<void> start_background_poller(spindle::Runtime& rt, spindle::Chan<int> stop) {
  return rt.spawn([stop]() mutable { (void)stop.recv(); });
}

spindle::Task<void> start_background(spindle::Runtime& rt, spindle::Chan<int> stop) {
  return rt.spawn([stop]() mutable { (void)stop.recv(); });
}

TEST(LeakFilter, BaselineExcludesTasksAliveWhenTheScopeBegan) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> stop;
  auto before = rt.spawn([stop]() mutable { (void)stop.recv(); });
  const auto base = spindle::LeakBaseline::now();
  auto during = rt.spawn([stop]() mutable { (void)stop.recv(); });
  auto leaks = rt.leaks(spindle::LeakOptions{.baseline = base});
  ASSERT_EQ(leaks.size(), 1u) << leaks.to_string();
  EXPECT_EQ(leaks.tasks()[0].id, during.id());
  EXPECT_EQ(rt.leaks().size(), 2u);
  EXPECT_THROW(rt.verify_no_leaks(spindle::LeakOptions{.baseline = base}), spindle::LeakError);
  stop.close();
  before.join();
  during.join();
  EXPECT_NO_THROW(rt.verify_no_leaks(spindle::LeakOptions{.baseline = base}));
}

TEST(LeakFilter, CleanScopeReturnsAtOnceDespiteOlderTasks) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> stop;
  auto before = rt.spawn([stop]() mutable { (void)stop.recv(); });
  const auto base = spindle::LeakBaseline::now();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(rt.leaks(spindle::LeakOptions{.baseline = base, .wait = 5s}).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  stop.close();
  before.join();
}

TEST(LeakFilter, IgnoreFunctionMatchesWholeNamesOnly) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> stop;
  auto poller = start_background_poller(rt, stop);
  auto other = start_background(rt, stop);
  auto leaks = rt.leaks(spindle::LeakOptions{.ignore_functions = {"start_background_poller"}});
  ASSERT_EQ(leaks.size(), 1u) << leaks.to_string();
  EXPECT_EQ(leaks.tasks()[0].id, other.id());
  // "start_background" is a whole name in one spawn site only, not a prefix of the other.
  leaks = rt.leaks(spindle::LeakOptions{.ignore_functions = {"start_background"}});
  ASSERT_EQ(leaks.size(), 1u) << leaks.to_string();
  EXPECT_EQ(leaks.tasks()[0].id, poller.id());
  EXPECT_TRUE(rt.leaks(spindle::LeakOptions{
                           .ignore_functions = {"start_background", "start_background_poller"}})
                  .empty());
  stop.close();
  poller.join();
  other.join();
}

TEST(LeakFilter, IgnoreFileMatchesWholePathComponents) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> stop;
  auto t = rt.spawn([stop]() mutable { (void)stop.recv(); });
  EXPECT_TRUE(rt.leaks(spindle::LeakOptions{.ignore_files = {"leak_filter_test.cpp"}}).empty());
  EXPECT_TRUE(
      rt.leaks(spindle::LeakOptions{.ignore_files = {"tests/leak_filter_test.cpp"}}).empty());
  EXPECT_EQ(rt.leaks(spindle::LeakOptions{.ignore_files = {"filter_test.cpp"}}).size(), 1u);
  stop.close();
  t.join();
}

TEST(LeakFilter, EmptyPatternsAndNegativeWaitAreRejected) {
  spindle::Runtime rt{quiet()};
  EXPECT_THROW(rt.leaks(spindle::LeakOptions{.ignore_functions = {""}}), std::invalid_argument);
  EXPECT_THROW(rt.leaks(spindle::LeakOptions{.ignore_files = {""}}), std::invalid_argument);
  EXPECT_THROW(rt.leaks(spindle::LeakOptions{.wait = -1ms}), std::invalid_argument);
  EXPECT_THROW(spindle::testing::LeakCheck(spindle::LeakOptions{.ignore_files = {""}}),
               std::invalid_argument);
}

TEST(LeakFilter, ListenerAppliesIgnoreRules) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  spindle::testing::LeakCheck lenient(
      spindle::LeakOptions{.ignore_functions = {"start_background_poller"}});
  spindle::testing::LeakCheck strict;
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> stop;

  lenient.OnTestStart(*info);
  strict.OnTestStart(*info);
  auto poller = start_background_poller(rt, stop);
  lenient.OnTestEnd(*info);  // ignored: no failure
  EXPECT_NONFATAL_FAILURE(strict.OnTestEnd(*info), "start_background_poller");

  // A task from before the test is not the next test's leak.
  strict.OnTestStart(*info);
  strict.OnTestEnd(*info);
  stop.close();
  poller.join();
}

}  // namespace
