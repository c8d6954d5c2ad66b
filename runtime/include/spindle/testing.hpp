// SPDX-License-Identifier: Apache-2.0
/// @file
/// GoogleTest helpers: spindle::testing::LeakCheck fails the test during which a task leaked;
/// spindle::testing::Simulation and explore() run tasks deterministically in virtual time.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/expected_leaks.hpp"
#include "spindle/explore.hpp"
#include "spindle/leaks.hpp"
#include "spindle/simulation.hpp"

/// @cond
namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
std::uint64_t next_task_id() noexcept;
LeakReport collect_leaks_since(std::uint64_t min_task_id, const LeakOptions& options);
}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
/// @endcond

namespace spindle::inline SPINDLE_ABI_NAMESPACE::testing {

/// A GoogleTest event listener that fails every test during which a spindle task leaked:
/// a task spawned during the test that is still alive when it ends (in any runtime still
/// alive, after each one's Options::leak_check_wait), a task whose handle was dropped
/// without join() or detach(), or a task a runtime destroyed during the test found leaked.
/// The failure names each task's spawn site and state.
///
/// Tasks spawned before the test started are never that test's leaks (each test is its own
/// baseline); LeakOptions' ignore rules and wait apply to every test, for tasks a library
/// starts on purpose:
/// `new spindle::testing::LeakCheck(spindle::LeakOptions{.ignore_functions = {"start_pool"}})`.
/// A test that leaves tasks behind on purpose says which with expect_leak(), expect_leaks()
/// or ignore_current_tasks() (<spindle/expected_leaks.hpp>); any other leak still fails it.
///
/// @code
/// int main(int argc, char** argv) {
///   ::testing::InitGoogleTest(&argc, argv);
///   ::testing::UnitTest::GetInstance()->listeners().Append(new spindle::testing::LeakCheck);
///   return RUN_ALL_TESTS();
/// }
/// @endcode
class LeakCheck : public ::testing::EmptyTestEventListener {
 public:
  /// @throws std::invalid_argument for options that cannot work (LeakOptions::validate).
  explicit LeakCheck(LeakOptions options = {}) : options_(std::move(options)) {
    options_.validate();
  }

  /// Called by GoogleTest as a test starts: tasks spawned from here on are this test's.
  /// Expectations from expect_leak(), expect_leaks() and ignore_current_tasks() are cleared.
  void OnTestStart(const ::testing::TestInfo& /*info*/) override {
    detail::reset_leak_expectations();
    first_task_ = detail::next_task_id();
  }

  /// Called by GoogleTest as a test ends: collects the tasks that leaked during it (waiting
  /// as the options say) and, if there are any, adds a failure listing them. The failure is
  /// placed at the test's own file and line (where its TEST macro is), so that a report
  /// points at the test that leaked rather than at this header.
  void OnTestEnd(const ::testing::TestInfo& info) override {
    LeakReport leaked =
        detail::collect_leaks_since(first_task_, detail::with_leak_expectations(options_));
    if (leaked.empty()) return;
    ADD_FAILURE_AT(info.file(), info.line())
        << "spindle::testing::LeakCheck: " << leaked.size() << " task(s) leaked during "
        << info.test_suite_name() << "." << info.name() << ":\n"
        << leaked.to_string();
  }

 private:
  LeakOptions options_;
  std::uint64_t first_task_ = 0;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::testing
