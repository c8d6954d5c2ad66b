// SPDX-License-Identifier: Apache-2.0
// spindle::Mutex: exclusion, parking (not blocking) tasks, FIFO hand-off, threads and tasks
// mixed, misuse.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "spindle/mutex.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

TEST(SyncMutex, LockGuardGivesMutualExclusionAcrossTasks) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  long counter = 0;  // deliberately not atomic: the mutex must protect it
  rt.block_on([&] {
    spindle::Mutex mu;
    std::vector<spindle::Task<void>> tasks;
    for (int t = 0; t < 16; ++t) {
      tasks.push_back(spindle::spawn([&] {
        for (int i = 0; i < 500; ++i) {
          std::lock_guard lock(mu);
          long seen = counter;
          if (i % 50 == 0) spindle::yield();  // hold the lock across a switch
          counter = seen + 1;
        }
      }));
    }
    for (auto& t : tasks) t.join();
  });
  EXPECT_EQ(counter, 16 * 500);
}

TEST(SyncMutex, WaitingParksTheTaskNotTheWorker) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  spindle::Mutex mu;
  mu.lock();  // held by this plain thread
  std::atomic<int> locked{0};
  std::atomic<bool> other_ran{false};
  std::vector<spindle::Task<void>> tasks;
  for (int i = 0; i < 4; ++i) {  // more lockers than workers
    tasks.push_back(rt.spawn([&] {
      std::lock_guard lock(mu);
      locked.fetch_add(1);
    }));
  }
  // If the lockers blocked their workers, this task could never run.
  auto other = rt.spawn([&] { other_ran = true; });
  other.join();
  EXPECT_TRUE(other_ran.load());
  EXPECT_EQ(locked.load(), 0);
  // The lockers may still be on their way to the mutex; wait (bounded) until all parked.
  int parked_on_mutex = 0;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(1))) {
    parked_on_mutex = 0;
    for (const auto& info : rt.tasks()) parked_on_mutex += info.state == "mutex";
    if (parked_on_mutex == 4) break;
  }
  EXPECT_EQ(parked_on_mutex, 4) << "the leak detector names what the tasks wait for";
  mu.unlock();
  for (auto& t : tasks) t.join();
  EXPECT_EQ(locked.load(), 4);
}

TEST(SyncMutex, UnlockHandsTheLockToWaitersInArrivalOrder) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::vector<int> order;
  rt.block_on([&] {
    spindle::Mutex mu;
    mu.lock();
    std::vector<spindle::Task<void>> tasks;
    for (int i = 0; i < 5; ++i) {
      std::atomic<bool> arriving{false};
      tasks.push_back(spindle::spawn([&, i] {
        arriving = true;
        std::lock_guard lock(mu);
        order.push_back(i);
      }));
      // Let task i queue up before task i+1 arrives.
      while (!arriving) spindle::yield();
      spindle::sleep_for(3ms);
    }
    mu.unlock();
    for (auto& t : tasks) t.join();
  });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(SyncMutex, TryLockSucceedsOnlyWhenFree) {
  spindle::Mutex mu;
  EXPECT_TRUE(mu.try_lock());
  EXPECT_FALSE(mu.try_lock());
  mu.unlock();
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
  std::unique_lock lock(mu, std::try_to_lock);
  EXPECT_TRUE(lock.owns_lock());
}

TEST(SyncMutex, UnlockOfUnlockedMutexThrows) {
  spindle::Mutex mu;
  try {
    mu.unlock();
    FAIL() << "unlock of an unlocked Mutex did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("unlock of unlocked Mutex"), std::string::npos);
  }
}

TEST(SyncMutex, ThreadsAndTasksShareOneMutexWithoutLostWakeups) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  spindle::Mutex mu;
  long counter = 0;
  constexpr int kRounds = 2000;
  std::vector<spindle::Task<void>> tasks;
  for (int t = 0; t < 4; ++t) {
    tasks.push_back(rt.spawn([&] {
      for (int i = 0; i < kRounds; ++i) {
        std::lock_guard lock(mu);
        ++counter;
      }
    }));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        std::lock_guard lock(mu);
        ++counter;
      }
    });
  }
  for (auto& t : tasks) t.join();
  for (auto& t : threads) t.join();
  std::lock_guard lock(mu);
  EXPECT_EQ(counter, 6L * kRounds);
}

TEST(SyncMutex, ScopedLockOverTwoMutexesWorks) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  spindle::Mutex a, b;
  int x = 0;
  rt.block_on([&] {
    auto t1 = spindle::spawn([&] {
      for (int i = 0; i < 200; ++i) {
        std::scoped_lock lock(a, b);
        ++x;
      }
    });
    auto t2 = spindle::spawn([&] {
      for (int i = 0; i < 200; ++i) {
        std::scoped_lock lock(b, a);
        ++x;
      }
    });
    t1.join();
    t2.join();
  });
  EXPECT_EQ(x, 400);
}

}  // namespace

namespace {

TEST(SyncMutex, RuntimeTeardownUnwindsParkedLockersCleanly) {
  spindle::Mutex mu;
  mu.lock();  // held by this thread across the runtime's whole life
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    for (int i = 0; i < 3; ++i) {
      rt.spawn([&mu] { std::lock_guard lock(mu); }).detach();
    }
    std::this_thread::sleep_for(10ms);  // all three are queued on the mutex
  }                                     // ~Runtime unwinds them: each must leave the queue
  mu.unlock();                          // must not touch the unwound waiters (ASan)
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

}  // namespace
