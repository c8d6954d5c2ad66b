// SPDX-License-Identifier: Apache-2.0
// The "Runtime and tasks", "Leak and deadlock detection" and "Bad input" snippets of
// ../shared/spec/API.md, verbatim where possible, so they keep compiling and behaving.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "spindle/spindle.hpp"
#include "spindle/testing.hpp"

using namespace std::chrono_literals;

namespace {

TEST(ApiSnippet, RuntimeAndTasks) {
  spindle::Runtime rt;
  spindle::Runtime rt4{spindle::Options{.workers = 4}};
  EXPECT_EQ(rt4.workers(), 4u);
  spindle::Options with_fields{.workers = 1,
                               .stack_size = 128 * 1024,
                               .guard_pages = true,
                               .on_leak = spindle::LeakPolicy::report,
                               .deadlock_after = 200ms};
  spindle::Runtime configured{with_fields};

  int answer = rt.block_on([] { return 42; });
  EXPECT_EQ(answer, 42);
  rt.block_on([&] {
    spindle::Task<int> t = spindle::spawn([] { return 7; });
    int seven = t.join();
    EXPECT_EQ(seven, 7);
    spindle::Task<void> d = spindle::spawn([] {});
    d.detach();
    spindle::Task<void> e = rt.spawn([] {});
    e.join();
    spindle::yield();
    spindle::sleep_for(10ms);
    spindle::sleep_until(spindle::Clock::now() + 10ms);
  });
  spindle::Task<void> e = rt.spawn([] {});  // from a plain thread
  e.join();
  spindle::sleep_for(1ms);  // outside a task: parks the thread
  static_assert(std::is_same_v<spindle::TimePoint, spindle::Clock::time_point>);
  static_assert(spindle::Clock::is_steady);
  EXPECT_THROW(static_cast<void>(spindle::spawn([] {})), std::logic_error);
}

TEST(ApiSnippet, LeakAndDeadlockDetection) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] { spindle::spawn([] {}).join(); });
  std::vector<spindle::TaskInfo> live = rt.tasks();
  EXPECT_TRUE(live.empty());
  spindle::LeakReport leaks = rt.leaks();
  bool clean = leaks.empty();
  EXPECT_TRUE(clean);
  std::string text = leaks.to_string();
  EXPECT_TRUE(text.empty());
  rt.verify_no_leaks();

  spindle::Runtime dl{spindle::Options{
      .workers = 1, .on_leak = spindle::LeakPolicy::ignore, .deadlock_after = 50ms}};
  EXPECT_THROW(dl.block_on([] {
    spindle::Chan<int> never;
    never.recv();
  }),
               spindle::Deadlock);
}

TEST(ApiSnippet, BadInput) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  auto t = rt.spawn([] { return 1; });
  t.join();
  EXPECT_THROW(t.join(), std::logic_error);
  EXPECT_THROW(t.detach(), std::logic_error);
  EXPECT_THROW(spindle::Runtime(spindle::Options{.stack_size = 1}), std::invalid_argument);
}

}  // namespace
