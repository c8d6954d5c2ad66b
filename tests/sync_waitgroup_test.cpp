// SPDX-License-Identifier: Apache-2.0
// spindle::WaitGroup: waiting for tasks, many waiters, reuse, threads, misuse.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "spindle/spindle.hpp"
#include "spindle/waitgroup.hpp"

using namespace std::chrono_literals;

namespace {

TEST(SyncWaitGroup, WaitReturnsOnlyAfterEveryDone) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::atomic<int> finished{0};
  rt.block_on([&] {
    spindle::WaitGroup wg;
    for (int i = 0; i < 10; ++i) {
      wg.add(1);
      spindle::spawn([&, i] {
        spindle::sleep_for(std::chrono::milliseconds(i));
        finished.fetch_add(1);
        wg.done();
      }).detach();
    }
    wg.wait();
    EXPECT_EQ(finished.load(), 10);
    EXPECT_EQ(wg.count(), 0);
  });
}

TEST(SyncWaitGroup, ApiSnippetWorks) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::WaitGroup wg;
    wg.add(2);
    wg.done();
    wg.done();
    wg.wait();
  });
}

TEST(SyncWaitGroup, WaitOnZeroCounterReturnsAtOnce) {
  spindle::WaitGroup wg;
  wg.wait();  // plain thread, nothing to wait for
  SUCCEED();
}

TEST(SyncWaitGroup, ReleasesEveryWaiterTasksAndThreads) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  spindle::WaitGroup wg;
  wg.add(1);
  std::atomic<int> released{0};
  std::vector<spindle::Task<void>> tasks;
  for (int i = 0; i < 5; ++i) {
    tasks.push_back(rt.spawn([&] {
      wg.wait();
      released.fetch_add(1);
    }));
  }
  std::thread th([&] {
    wg.wait();
    released.fetch_add(1);
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(released.load(), 0);
  wg.done();
  for (auto& t : tasks) t.join();
  th.join();
  EXPECT_EQ(released.load(), 6);
}

TEST(SyncWaitGroup, CanBeReusedAfterReachingZero) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::WaitGroup wg;
    for (int round = 0; round < 3; ++round) {
      std::atomic<int> n{0};
      for (int i = 0; i < 4; ++i) {
        wg.spawn([&] { n.fetch_add(1); });
      }
      wg.wait();
      EXPECT_EQ(n.load(), 4);
    }
  });
}

TEST(SyncWaitGroup, SpawnCountsDoneEvenWhenTheBodyThrows) {
  // The exception itself goes to the unhandled exception handler (whose default terminates).
  std::atomic<int> reported{0};
  auto previous =
      spindle::set_unhandled_exception_handler([&](const spindle::UnhandledException& e) {
        EXPECT_STREQ(e.what(), "boom");
        ++reported;
      });
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::WaitGroup wg;
    wg.spawn([] { throw std::runtime_error("boom"); });
    wg.wait();
    EXPECT_EQ(wg.count(), 0);
  });
  // The report comes after done(): wait for it.
  for (int i = 0; i < 10000 && reported.load() == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(reported.load(), 1);
  spindle::set_unhandled_exception_handler(std::move(previous));
}

TEST(SyncWaitGroup, DoneCalledTooManyTimesThrows) {
  spindle::WaitGroup wg;
  wg.add(1);
  wg.done();
  try {
    wg.done();
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("done() called too many times"), std::string::npos);
  }
  EXPECT_EQ(wg.count(), 0);
}

TEST(SyncWaitGroup, NegativeAddThrowsAndLeavesTheCounter) {
  spindle::WaitGroup wg;
  wg.add(2);
  EXPECT_THROW(wg.add(-3), std::logic_error);
  EXPECT_EQ(wg.count(), 2);
}

TEST(SyncWaitGroup, ManyConcurrentDonesWakeTheWaiterExactlyAtZero) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  for (int round = 0; round < 20; ++round) {
    rt.block_on([] {
      spindle::WaitGroup wg;
      std::atomic<int> n{0};
      wg.add(50);
      for (int i = 0; i < 50; ++i) {
        spindle::spawn([&] {
          n.fetch_add(1);
          wg.done();
        }).detach();
      }
      wg.wait();
      EXPECT_EQ(n.load(), 50);
    });
  }
}

}  // namespace

namespace {

TEST(SyncWaitGroup, RuntimeTeardownUnwindsParkedWaitersCleanly) {
  spindle::WaitGroup wg;
  wg.add(1);
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    for (int i = 0; i < 3; ++i) rt.spawn([&wg] { wg.wait(); }).detach();
    std::this_thread::sleep_for(10ms);
  }
  wg.done();  // must not touch the unwound waiters (ASan)
  EXPECT_EQ(wg.count(), 0);
}

}  // namespace
