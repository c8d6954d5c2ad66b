// SPDX-License-Identifier: Apache-2.0
// The current test's expected leaks: one process-wide record, since GoogleTest runs one test
// at a time and the listener that reads it (testing::LeakCheck) is process-wide too. The
// record is cleared as each test starts, so an expectation never outlives its test.
#include "spindle/expected_leaks.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "runtime/task_registry.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {
namespace {

struct Expectations {
  std::mutex mu;
  std::uint64_t first_checked_id = 0;  // tasks below it are expected (ignore_current_tasks)
  std::vector<std::uint64_t> ids;      // tasks expected one by one
};

Expectations& expectations() {
  static Expectations e;
  return e;
}

}  // namespace

namespace testing {

void expect_leak(std::uint64_t task_id) {
  Expectations& e = expectations();
  std::lock_guard lock(e.mu);
  e.ids.push_back(task_id);
}

void expect_leaks(const LeakReport& tasks) {
  Expectations& e = expectations();
  std::lock_guard lock(e.mu);
  for (const TaskInfo& t : tasks) e.ids.push_back(t.id);
}

void ignore_current_tasks() {
  const std::uint64_t next = detail::next_task_id();
  Expectations& e = expectations();
  std::lock_guard lock(e.mu);
  e.first_checked_id = std::max(e.first_checked_id, next);
}

}  // namespace testing

namespace detail {

void reset_leak_expectations() noexcept {
  Expectations& e = expectations();
  std::lock_guard lock(e.mu);
  e.first_checked_id = 0;
  e.ids.clear();
}

LeakOptions with_leak_expectations(LeakOptions options) {
  Expectations& e = expectations();
  std::lock_guard lock(e.mu);
  if (options.baseline.first_checked_id() < e.first_checked_id) {
    options.baseline = LeakBaseline::since_id(e.first_checked_id);
  }
  options.ignore_tasks.insert(options.ignore_tasks.end(), e.ids.begin(), e.ids.end());
  return options;
}

}  // namespace detail
}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
