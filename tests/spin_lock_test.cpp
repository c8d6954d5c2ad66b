// SPDX-License-Identifier: Apache-2.0
// SpinLock, the spin lock behind every channel's wait queues: mutual exclusion among many
// contending threads (the backoff path), and a waiter that outlasts its pause budget
// (the yield path) still takes the lock once it is free.
#include "spindle/detail/spin_lock.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "spindle/detail/spin_lock.hpp"

namespace {

using spindle::detail::SpinLock;
using spindle::detail::SpinLockGuard;

TEST(SpinLock, ExcludesAmongManyContendingThreads) {
  SpinLock lock;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  long counter = 0;  // plain: only ever touched under the lock
  constexpr int kThreads = 8;
  constexpr int kRounds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        SpinLockGuard guard(lock);
        // relaxed: a counter of overlaps, read after the joins.
        if (inside.fetch_add(1, std::memory_order_relaxed) != 0)
          overlaps.fetch_add(1, std::memory_order_relaxed);
        ++counter;
        inside.fetch_sub(1, std::memory_order_relaxed);  // relaxed: as above
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(counter, static_cast<long>(kThreads) * kRounds);
}

TEST(SpinLock, AWaiterPastItsPauseBudgetTakesTheLockWhenFreed) {
  SpinLock lock;
  lock.lock();
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    lock.lock();
    acquired.store(true);
    lock.unlock();
  });
  // Far longer than the waiter's 1024 pauses: it is yielding its thread by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(acquired.load());
  lock.unlock();
  waiter.join();
  EXPECT_TRUE(acquired.load());
  // And the lock is free again afterwards.
  lock.lock();
  lock.unlock();
}

}  // namespace
