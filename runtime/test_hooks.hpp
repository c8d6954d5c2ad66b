// SPDX-License-Identifier: Apache-2.0
// Test hooks: points where a test can stall or fail the runtime on purpose, to reach
// interleavings and faults that timing alone hits only by chance.
//
// They exist only in builds with spindle's tests (SPINDLE_BUILD_TESTS, which defines
// SPINDLE_TEST_HOOKS=1 for the library and everything built with it in the tree); a build
// without tests, such as an installed package or the benchmark tree, compiles every hook
// site to nothing.
#pragma once

#include <atomic>

#if !defined(SPINDLE_TEST_HOOKS)
#define SPINDLE_TEST_HOOKS 0
#endif

#if SPINDLE_TEST_HOOKS
// Calls the hook in `var` (a std::atomic of a function pointer) with the given arguments, if
// a test installed one. relaxed: tests install hooks before the runs they affect.
#define SPINDLE_TEST_HOOK(var, ...)                                              \
  do {                                                                           \
    if (auto spindle_hook_ = (var).load(std::memory_order_relaxed)) [[unlikely]] \
      spindle_hook_(__VA_ARGS__);                                                \
  } while (false)
#else
#define SPINDLE_TEST_HOOK(var, ...) \
  do {                              \
  } while (false)
#endif
