// SPDX-License-Identifier: Apache-2.0
// Leaks a test expects (expect_leak, expect_leaks, ignore_current_tasks): testing::LeakCheck
// passes a test over the tasks it names and still fails it for any other task left behind.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spindle/spindle.hpp"
#include "spindle/testing.hpp"

using namespace std::chrono_literals;

namespace {

spindle::Options quiet(spindle::LeakPolicy on_leak = spindle::LeakPolicy::ignore) {
  return spindle::Options{
      .workers = 2, .on_leak = on_leak, .deadlock_after = 50ms, .leak_check_wait = 20ms};
}

// Two tasks (block_on's own and one it spawns) receive on a channel nobody sends on.
spindle::LeakReport provoke_deadlock(spindle::Runtime& rt) {
  try {
    rt.block_on([] {
      spindle::Chan<int> never;
      auto other = spindle::spawn([never]() mutable { (void)never.recv(); });
      (void)never.recv();
      other.join();
    });
  } catch (const spindle::Deadlock& d) {
    return d.tasks();
  }
  ADD_FAILURE() << "expected spindle::Deadlock";
  return {};
}

// The failures `check` adds as the current test ends, captured instead of failing it.
std::unique_ptr<::testing::TestPartResultArray> end_test(spindle::testing::LeakCheck& check) {
  auto failures = std::make_unique<::testing::TestPartResultArray>();
  ::testing::ScopedFakeTestPartResultReporter capture(
      ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, failures.get());
  check.OnTestEnd(*::testing::UnitTest::GetInstance()->current_test_info());
  return failures;
}

// The one failure `check` adds as the current test ends, or "" (and a failure) if not one.
std::string only_failure(spindle::testing::LeakCheck& check) {
  const auto failures = end_test(check);
  if (failures->size() != 1) {
    ADD_FAILURE() << "expected one leak failure, got " << failures->size();
    return "";
  }
  return failures->GetTestPartResult(0).message();
}

// Tasks blocked on one channel of a runtime until this goes away, which releases and joins
// them.
class BlockedTasks {
 public:
  std::uint64_t spawn() {
    tasks_.push_back(rt_.spawn([stop = stop_]() mutable { (void)stop.recv(); }));
    return tasks_.back().id();
  }
  ~BlockedTasks() {
    stop_.close();
    for (auto& t : tasks_) t.join();
  }

 private:
  spindle::Runtime rt_{quiet()};
  spindle::Chan<int> stop_;
  std::vector<spindle::Task<void>> tasks_;
};

// `check` adds no failure as the current test ends.
void expect_clean_end(spindle::testing::LeakCheck& check) {
  const auto failures = end_test(check);
  for (int i = 0; i < failures->size(); ++i) {
    ADD_FAILURE() << "unexpected leak failure: " << failures->GetTestPartResult(i).message();
  }
}

// How a report names the task `id`.
std::string task_ref(std::uint64_t id) { return "task " + std::to_string(id) + " "; }

void start_test(spindle::testing::LeakCheck& check) {
  check.OnTestStart(*::testing::UnitTest::GetInstance()->current_test_info());
}

TEST(ExpectedLeaks, DeadlockedTasksNamedByTheTestPassItsCheck) {
  spindle::testing::LeakCheck check;
  start_test(check);
  spindle::Runtime rt{quiet()};
  const spindle::LeakReport stuck = provoke_deadlock(rt);
  ASSERT_EQ(stuck.size(), 2u) << stuck.to_string();
  spindle::testing::expect_leaks(stuck);
  expect_clean_end(check);
}

TEST(ExpectedLeaks, AnUnexpectedLeakStillFails) {
  spindle::testing::LeakCheck check;
  start_test(check);
  spindle::Runtime rt{quiet()};
  spindle::Runtime other{quiet()};
  spindle::Chan<int> stop;
  auto extra = other.spawn([stop]() mutable { (void)stop.recv(); });
  const int extra_line = __LINE__ - 1;
  spindle::testing::expect_leaks(provoke_deadlock(rt));
  const std::string message = only_failure(check);
  EXPECT_NE(message.find("1 task(s) leaked"), std::string::npos) << message;
  EXPECT_NE(message.find(task_ref(extra.id())), std::string::npos) << message;
  EXPECT_NE(message.find("leak_expect_test.cpp:" + std::to_string(extra_line)), std::string::npos)
      << message;
  stop.close();
  extra.join();
}

TEST(ExpectedLeaks, TasksOfARuntimeDestroyedDuringTheTestStayExpected) {
  spindle::testing::LeakCheck check;
  start_test(check);
  {
    // Reported at teardown, which LeakCheck hears of too.
    spindle::Runtime rt{quiet(spindle::LeakPolicy::report)};
    spindle::testing::expect_leaks(provoke_deadlock(rt));
  }
  expect_clean_end(check);
}

TEST(ExpectedLeaks, ExpectLeakNamesOneTask) {
  spindle::testing::LeakCheck check;
  start_test(check);
  BlockedTasks blocked;
  const std::uint64_t expected = blocked.spawn();
  const std::uint64_t unexpected = blocked.spawn();
  spindle::testing::expect_leak(expected);
  const std::string message = only_failure(check);
  EXPECT_NE(message.find(task_ref(unexpected)), std::string::npos) << message;
  EXPECT_EQ(message.find(task_ref(expected)), std::string::npos) << message;
}

TEST(ExpectedLeaks, IgnoreCurrentTasksCoversOnlyTasksSpawnedSoFar) {
  spindle::testing::LeakCheck check;
  start_test(check);
  BlockedTasks blocked;
  blocked.spawn();
  spindle::testing::ignore_current_tasks();
  expect_clean_end(check);

  start_test(check);
  spindle::testing::ignore_current_tasks();
  const std::uint64_t after = blocked.spawn();
  const std::string message = only_failure(check);
  EXPECT_NE(message.find(task_ref(after)), std::string::npos) << message;
}

TEST(ExpectedLeaks, ExpectationsEndWithTheirTest) {
  spindle::testing::LeakCheck check;
  start_test(check);
  // The id the next task will get, expected in this test only.
  spindle::testing::expect_leak(spindle::LeakBaseline::now().first_checked_id());
  expect_clean_end(check);

  start_test(check);
  BlockedTasks blocked;
  const std::uint64_t id = blocked.spawn();
  EXPECT_NE(only_failure(check).find(task_ref(id)), std::string::npos);
}

}  // namespace
