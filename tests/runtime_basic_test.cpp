// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/scheduler.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

TEST(Runtime, BlockOnReturnsTheValue) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  EXPECT_EQ(rt.block_on([] { return 42; }), 42);
}

TEST(Runtime, BlockOnRethrows) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  EXPECT_THROW(rt.block_on([]() -> int { throw std::runtime_error("boom"); }), std::runtime_error);
}

TEST(Runtime, BlockOnManyTimesFromManyThreads) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::vector<std::thread> threads;
  std::atomic<int> sum{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) sum += rt.block_on([=] { return t + i; });
    });
  }
  for (auto& th : threads) th.join();
  int expected = 0;
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 50; ++i) expected += t + i;
  EXPECT_EQ(sum.load(), expected);
}

TEST(Runtime, SpawnAndJoinInsideTasks) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  long total = rt.block_on([] {
    std::vector<spindle::Task<long>> tasks;
    for (long i = 0; i < 1000; ++i) tasks.push_back(spindle::spawn([i] { return i; }));
    long s = 0;
    for (auto& t : tasks) s += t.join();
    return s;
  });
  EXPECT_EQ(total, 999L * 1000 / 2);
}

TEST(Runtime, JoinFromPlainThread) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  auto t = rt.spawn([] {
    spindle::sleep_for(5ms);
    return std::string("done");
  });
  EXPECT_EQ(t.join(), "done");
}

TEST(Runtime, SpawnOutsideTaskThrowsLogicError) {
  EXPECT_THROW(static_cast<void>(spindle::spawn([] {})), std::logic_error);
}

TEST(Runtime, JoinTwiceThrows) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  auto t = rt.spawn([] { return 1; });
  EXPECT_EQ(t.join(), 1);
  EXPECT_THROW(t.join(), std::logic_error);
  EXPECT_THROW(t.detach(), std::logic_error);
  auto d = rt.spawn([] {});
  d.detach();
  EXPECT_THROW(d.join(), std::logic_error);
  auto m = rt.spawn([] {});
  auto m2 = std::move(m);
  EXPECT_THROW(m.join(), std::logic_error);  // NOLINT(bugprone-use-after-move)
  m2.join();
}

TEST(Runtime, BadOptionsThrowInvalidArgument) {
  EXPECT_THROW(spindle::Runtime(spindle::Options{.stack_size = 1}), std::invalid_argument);
  try {
    spindle::Runtime rt(spindle::Options{.stack_size = 1});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("stack_size"), std::string::npos);
  }
}

TEST(Runtime, SpindleWorkersEnvironment) {
  ::setenv("SPINDLE_WORKERS", "3", 1);
  {
    spindle::Runtime rt;
    EXPECT_EQ(rt.workers(), 3u);
  }
  ::setenv("SPINDLE_WORKERS", "zero", 1);
  EXPECT_THROW(spindle::Runtime(), std::invalid_argument);
  ::setenv("SPINDLE_WORKERS", "0", 1);
  EXPECT_THROW(spindle::Runtime(), std::invalid_argument);
  ::unsetenv("SPINDLE_WORKERS");
  spindle::Runtime rt;
  EXPECT_GE(rt.workers(), 1u);
}

TEST(Runtime, YieldLetsOthersRun) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  std::vector<int> order = rt.block_on([] {
    std::vector<int> log;
    auto a = spindle::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        log.push_back(1);
        spindle::yield();
      }
    });
    auto b = spindle::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        log.push_back(2);
        spindle::yield();
      }
    });
    a.join();
    b.join();
    return log;
  });
  ASSERT_EQ(order.size(), 6u);
  // One worker, both yield each step: they must interleave.
  for (std::size_t i = 1; i < order.size(); ++i) EXPECT_NE(order[i], order[i - 1]);
}

TEST(Runtime, SleepForWaitsAtLeastTheDuration) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  auto elapsed = rt.block_on([] {
    auto start = spindle::Clock::now();
    spindle::sleep_for(20ms);
    return spindle::Clock::now() - start;
  });
  EXPECT_GE(elapsed, 20ms);
  EXPECT_LT(elapsed, 2s);
}

TEST(Runtime, SleepUntilOnPlainThread) {
  auto start = spindle::Clock::now();
  spindle::sleep_until(start + 10ms);
  EXPECT_GE(spindle::Clock::now() - start, 10ms);
}

TEST(Runtime, ManySleepersWakeInDeadlineOrder) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  auto order = rt.block_on([] {
    std::vector<int> log;
    std::vector<spindle::Task<void>> ts;
    for (int i = 5; i >= 1; --i) {
      ts.push_back(spindle::spawn([i, &log] {
        spindle::sleep_for(std::chrono::milliseconds(i * 15));
        log.push_back(i);
      }));
    }
    for (auto& t : ts) t.join();
    return log;
  });
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(Runtime, DeepRecursionInTask) {
  spindle::Runtime rt{spindle::Options{.workers = 1, .stack_size = 1 << 20}};
  struct R {
    static int depth(int n) {
      volatile char pad[256];
      pad[0] = static_cast<char>(n);
      return n == 0 ? pad[0] : 1 + depth(n - 1);
    }
  };
  EXPECT_EQ(rt.block_on([] { return R::depth(2000); }), 2000);
}

TEST(Runtime, DestructorUnwindsBlockedTasks) {
  std::atomic<int> destroyed{0};
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    rt.block_on([&] {
      for (int i = 0; i < 10; ++i) {
        spindle::spawn([&] {
          struct Guard {
            std::atomic<int>& n;
            ~Guard() { ++n; }
          } g{destroyed};
          spindle::sleep_for(1h);
        }).detach();
      }
    });
  }
  EXPECT_EQ(destroyed.load(), 10);
}

TEST(Runtime, DiagnosticsNameGuardMode) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {});
  std::string d = rt.diagnostics();
  EXPECT_NE(d.find("guard="), std::string::npos);
  EXPECT_NE(rt.guard_mode(), spindle::GuardMode::none);
  spindle::Runtime unguarded{spindle::Options{.workers = 1, .guard_pages = false}};
  EXPECT_EQ(unguarded.guard_mode(), spindle::GuardMode::none);
}

}  // namespace

namespace {

// A plain thread wakes a task, and the task (and with it block_on) finishes before that
// thread is done with the scheduler: the runtime must not go away under it. The hook holds
// the waking thread inside make_runnable after the wake-up; under ASan, a runtime destroyed
// meanwhile is a use-after-free in the waker's last step.
TEST(RuntimeBasic, DestructionWaitsForAThreadStillWakingATask) {
  spindle::Chan<int> ch;
  std::thread waker;
  static std::atomic<bool> stalled{false};
  stalled = false;
  spindle::detail::g_outside_wake_hook.store([] {
    stalled.store(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  });
  {
    spindle::Runtime rt{spindle::Options{.workers = 1}};
    const int got = rt.block_on([&] {
      waker = std::thread([&] {
        // Once the task is parked in its receive, the send hands off and wakes it.
        for (bool parked = false; !parked; std::this_thread::yield()) {
          for (const spindle::TaskInfo& t : rt.tasks()) parked = parked || t.state == "chan recv";
        }
        ch.send(7);
      });
      return *ch.recv();
    });
    EXPECT_EQ(got, 7);
  }  // the runtime goes here, while the waker is (or is about to be) in the hook
  EXPECT_TRUE(stalled.load());  // it waited for the waker to leave make_runnable
  spindle::detail::g_outside_wake_hook.store(nullptr);
  waker.join();
}

}  // namespace
