// SPDX-License-Identifier: Apache-2.0
/// @file
/// Leaks a test expects: spindle::testing::expect_leak(), expect_leaks() and
/// ignore_current_tasks() tell testing::LeakCheck which tasks the current test leaves behind
/// on purpose, so that it still fails the test for any other. Included by
/// <spindle/testing.hpp>; needs no GoogleTest itself.
#pragma once

#include <cstdint>

#include "spindle/abi.hpp"
#include "spindle/leaks.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::testing {

/// The task with id `task_id` (Task::id(), TaskInfo::id) is expected to be left behind by the
/// current test: testing::LeakCheck does not report it when the test ends.
void expect_leak(std::uint64_t task_id);

/// Every task in `tasks` is expected to be left behind by the current test, as by
/// expect_leak(). For a test that provokes a deadlock on purpose:
///
/// @code
/// try {
///   rt.block_on([] { /* tasks that wait on each other */ });
/// } catch (const spindle::Deadlock& d) {
///   spindle::testing::expect_leaks(d.tasks());  // these, and no others, may be left parked
/// }
/// @endcode
void expect_leaks(const LeakReport& tasks);

/// Like goleak's IgnoreCurrent, for the current test: every task spawned so far (in any
/// runtime) is expected to be left behind; tasks spawned from here on are still checked.
void ignore_current_tasks();

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::testing

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Forgets every expectation: testing::LeakCheck calls it as each test starts.
void reset_leak_expectations() noexcept;

/// `options` with the current test's expectations added (a later baseline, more ignored ids).
LeakOptions with_leak_expectations(LeakOptions options);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
