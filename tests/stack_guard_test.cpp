// SPDX-License-Identifier: Apache-2.0
// Stacks: overflow is caught (guard page or canary) with a message naming the task, the
// guard mode is reported, and stacks are reused rather than mapped per task.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/fiber.hpp"
#include "runtime/stack.hpp"
#include "spindle/spindle.hpp"

namespace {

[[gnu::noinline]] int recurse_forever(int n) {
  volatile char frame[512];
  frame[0] = static_cast<char>(n);
  if (n < 0) return 0;  // never: only the guard page ends this
  return recurse_forever(n + 1) + frame[0];
}

// Recurses to within a frame of the stack's lowest byte, where the deepest frame overruns
// the bottom word (the canary), then returns; no guard page stops it in canary mode, so only
// the check at the next switch can notice.
[[gnu::noinline]] int recurse_until(char* low, int n) {
  volatile char frame[512];
  frame[0] = static_cast<char>(n);
  if (const_cast<char*>(&frame[0]) <= low + 2048) {
    volatile char* bottom = low;
    for (int i = 0; i < 16; ++i) bottom[i] = 0x55;
    return frame[0];
  }
  return recurse_until(low, n + 1) + frame[0];
}

void overflow_with_guard_page() {
  spindle::Runtime rt{spindle::Options{.workers = 1, .stack_size = 64 * 1024}};
  rt.block_on([] { return recurse_forever(0); });
}

void overflow_with_canary() {
  spindle::detail::force_guard_mode_for_testing(spindle::GuardMode::canary);
  spindle::Runtime rt{spindle::Options{.workers = 1, .stack_size = 64 * 1024}};
  rt.block_on([] {
    auto* low = static_cast<char*>(spindle::detail::current_fiber()->stack.low);
    recurse_until(low, 0);
    spindle::yield();  // the switch checks the canary
  });
}

// One frame larger than the stack and its guard together: without stack-clash probes the
// write at its far end would land in whatever lies below the stack's mapping (another stack,
// or nothing: a bare SIGSEGV). The probes touch every page on the way down and fault in the
// guard first. The asm makes the whole array exist (compilers shrink an array of which one
// element is used).
[[gnu::noinline]] int big_frame() {
  char frame[544 * 1024];
  asm volatile("" : : "r"(frame) : "memory");
  frame[0] = 1;
  asm volatile("" : : "r"(frame) : "memory");
  return frame[0];
}

void overflow_with_a_big_frame() {
  spindle::Runtime rt{spindle::Options{.workers = 1}};  // the default 256 KiB stack
  rt.block_on([] {
    spindle::set_task_name("big");
    return big_frame();
  });
}

class StackGuardDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(StackGuardDeathTest, GuardPageOverflowNamesTheTask) {
  EXPECT_DEATH(overflow_with_guard_page(),
               "stack overflow in task [0-9]+ spawned at .*stack_guard_test.cpp");
}

TEST_F(StackGuardDeathTest, FrameLargerThanTheGuardHitsItAndNamesTheTask) {
  EXPECT_DEATH(overflow_with_a_big_frame(),
               "stack overflow in task [0-9]+ \"big\" spawned at .*stack_guard_test.cpp");
}

TEST_F(StackGuardDeathTest, CanaryOverflowNamesTheTask) {
  EXPECT_DEATH(overflow_with_canary(),
               "stack overflow in task [0-9]+ spawned at .*stack_guard_test.cpp");
}

TEST(StackGuard, CanaryModeIsReported) {
  spindle::detail::force_guard_mode_for_testing(spindle::GuardMode::canary);
  {
    spindle::Runtime rt{spindle::Options{.workers = 1}};
    rt.block_on([] {});
    EXPECT_EQ(rt.guard_mode(), spindle::GuardMode::canary);
    EXPECT_NE(rt.diagnostics().find("guard=canary"), std::string::npos);
  }
  spindle::detail::force_guard_mode_for_testing(spindle::GuardMode::mprotect);
  {
    spindle::Runtime rt{spindle::Options{.workers = 1}};
    rt.block_on([] {});
    EXPECT_EQ(rt.guard_mode(), spindle::GuardMode::mprotect);
  }
  spindle::detail::force_guard_mode_for_testing(spindle::GuardMode::madvise_guard);
}

TEST(StackGuard, StackSizeIsRoundedToPages) {
  spindle::Runtime rt{spindle::Options{.workers = 1, .stack_size = 100 * 1024 + 1}};
  EXPECT_EQ(rt.stack_size() % spindle::detail::page_size(), 0u);
  EXPECT_GE(rt.stack_size(), 100u * 1024 + 1);
}

std::size_t stacks_made(spindle::Runtime& rt) {
  const std::string d = rt.diagnostics();
  const auto at = d.find(" stacks=");
  return at == std::string::npos ? 0 : std::stoul(d.substr(at + 8));
}

std::size_t spares_started(spindle::Runtime& rt) {
  const std::string d = rt.diagnostics();
  const auto at = d.find(" spares_started=");
  return at == std::string::npos ? 0 : std::stoul(d.substr(at + 16));
}

TEST(StackGuard, StacksAreReused) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    for (int i = 0; i < 1000; ++i) spindle::spawn([] {}).join();
  });
  // One stack for the root task, one reused for every child. On a loaded machine the loop
  // may hold its worker long enough for the monitor to hand the child to a spare thread,
  // which takes one stack of its own (then reuses it) and may leave the spawner to stock the
  // shared pool's reserve (StackGuard.SpawnerStocksABoundedReserveOfStacks bounds that).
  const std::size_t spares = spares_started(rt);
  if (spares == 0) {
    EXPECT_EQ(stacks_made(rt), 2u) << rt.diagnostics();
  } else {
    EXPECT_LE(stacks_made(rt), 2u + 64u + spares) << rt.diagnostics();
  }
}

// A spawner with no free stack of its own keeps a bounded reserve in the shared pool: the
// tasks it queues find their stacks made (by the spawner, not by the workers that start
// them), and a long burst of spawns maps no more than the reserve ahead of the tasks. The
// bound allows one more stack per thread that may start the burst's tasks: the worker, and
// the spares the monitor may hand a long burst's queue to on a loaded machine (up to
// workers + 2); each takes one stack from the pool, then reuses its own.
TEST(StackGuard, SpawnerStocksABoundedReserveOfStacks) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  std::size_t after_ten = 0, after_burst = 0;
  rt.block_on([&] {
    std::vector<spindle::Task<void>> tasks;
    // One worker, busy here: none of these starts before the joins below (unless a spare
    // takes them over).
    for (int i = 0; i < 10; ++i) tasks.push_back(spindle::spawn([] {}));
    after_ten = stacks_made(rt);
    for (int i = 0; i < 1000; ++i) tasks.push_back(spindle::spawn([] {}));
    after_burst = stacks_made(rt);
    for (auto& t : tasks) t.join();
  });
  constexpr std::size_t kReserve = 64, kThreads = 1 + 3;
  EXPECT_GE(after_ten, 11u);  // the root's own, and one per queued task
  EXPECT_LE(after_burst, 1 + kReserve + kThreads) << rt.diagnostics();
  EXPECT_LE(stacks_made(rt), 1 + kReserve + kThreads);  // the burst ran on the reserve
}

}  // namespace
