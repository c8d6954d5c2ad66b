// SPDX-License-Identifier: Apache-2.0
// spindle::Semaphore: weighted bounds, FIFO without starvation, try_acquire, context-aware
// acquire, misuse.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "spindle/context.hpp"
#include "spindle/semaphore.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

TEST(SyncSemaphore, NeverMoreTokensHeldThanTheCapacity) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::atomic<int> in_use{0}, peak{0};
  rt.block_on([&] {
    spindle::Semaphore sem(4);
    std::vector<spindle::Task<void>> tasks;
    for (int t = 0; t < 12; ++t) {
      tasks.push_back(spindle::spawn([&, t] {
        for (int i = 0; i < 50; ++i) {
          int w = 1 + (t + i) % 3;
          sem.acquire(w);
          int now = in_use.fetch_add(w) + w;
          int p = peak.load();
          while (now > p && !peak.compare_exchange_weak(p, now)) {
          }
          if (i % 10 == 0) spindle::yield();
          in_use.fetch_sub(w);
          sem.release(w);
        }
      }));
    }
    for (auto& t : tasks) t.join();
    EXPECT_EQ(sem.held(), 0);
  });
  EXPECT_LE(peak.load(), 4);
  EXPECT_GE(peak.load(), 2);
}

TEST(SyncSemaphore, LargeRequestAtTheHeadIsNotOvertakenBySmallOnes) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::vector<char> order;
  rt.block_on([&] {
    spindle::Semaphore sem(10);
    sem.acquire(5);
    std::atomic<bool> big_arriving{false};
    auto big = spindle::spawn([&] {
      big_arriving = true;
      sem.acquire(10);
      order.push_back('B');
      sem.release(10);
    });
    while (!big_arriving) spindle::yield();
    spindle::sleep_for(5ms);  // big is queued first
    auto small = spindle::spawn([&] {
      sem.acquire(1);  // would fit now, but must wait behind big
      order.push_back('s');
      sem.release(1);
    });
    spindle::sleep_for(10ms);
    EXPECT_TRUE(order.empty());
    EXPECT_FALSE(sem.try_acquire(1)) << "try_acquire must not overtake queued parties";
    sem.release(5);
    big.join();
    small.join();
  });
  EXPECT_EQ(order, (std::vector<char>{'B', 's'}));
}

TEST(SyncSemaphore, TryAcquireTakesFreeTokensWithoutBlocking) {
  spindle::Semaphore sem(3);
  EXPECT_TRUE(sem.try_acquire(2));
  EXPECT_FALSE(sem.try_acquire(2));
  EXPECT_TRUE(sem.try_acquire(1));
  EXPECT_FALSE(sem.try_acquire());
  sem.release(3);
  EXPECT_EQ(sem.held(), 0);
  EXPECT_TRUE(sem.try_acquire(0));
}

TEST(SyncSemaphore, MisuseThrows) {
  EXPECT_THROW(spindle::Semaphore(-1), std::invalid_argument);
  spindle::Semaphore sem(2);
  try {
    sem.acquire(3);
    FAIL() << "acquire beyond the capacity must throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("capacity"), std::string::npos);
  }
  EXPECT_THROW(sem.acquire(-1), std::invalid_argument);
  EXPECT_THROW(sem.try_acquire(-1), std::invalid_argument);
  sem.acquire(1);
  try {
    sem.release(2);
    FAIL() << "releasing more than held must throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("released more than held"), std::string::npos);
  }
  EXPECT_EQ(sem.held(), 1);
}

TEST(SyncSemaphore, ContextAcquireGivesUpOnCancelAndUnblocksTheNextInLine) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Semaphore sem(2);
    sem.acquire(1);
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    std::error_code big_result;
    std::atomic<bool> big_arriving{false};
    auto big = spindle::spawn([&, c = ctx] {
      big_arriving = true;
      big_result = sem.acquire(c, 2);
    });
    while (!big_arriving) spindle::yield();
    spindle::sleep_for(5ms);
    std::atomic<bool> small_got{false};
    auto small = spindle::spawn([&] {
      sem.acquire(1);  // fits, but queued behind big
      small_got = true;
    });
    spindle::sleep_for(10ms);
    EXPECT_FALSE(small_got.load());
    cancel();
    big.join();
    EXPECT_EQ(big_result, spindle::errc::canceled);
    small.join();  // big left the head of the queue: small fits and must be woken
    EXPECT_TRUE(small_got.load());
    EXPECT_EQ(sem.held(), 2);
  });
}

TEST(SyncSemaphore, ContextAcquireTimesOutWithDeadlineExceeded) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Semaphore sem(1);
    sem.acquire();
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 20ms);
    auto start = spindle::Clock::now();
    EXPECT_EQ(sem.acquire(ctx, 1), spindle::errc::deadline_exceeded);
    EXPECT_GE(spindle::Clock::now() - start, 15ms);
    EXPECT_EQ(sem.held(), 1);
    cancel();
  });
}

TEST(SyncSemaphore, ContextAcquireSucceedsWhenTokensComeFirst) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Semaphore sem(1);
    sem.acquire();
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    auto releaser = spindle::spawn([&] {
      spindle::sleep_for(5ms);
      sem.release();
    });
    EXPECT_FALSE(sem.acquire(ctx, 1));
    EXPECT_EQ(sem.held(), 1);
    releaser.join();
    cancel();
    // A context that is already done fails at once, even with tokens free.
    sem.release();
    EXPECT_EQ(sem.acquire(ctx, 1), spindle::errc::canceled);
    EXPECT_EQ(sem.held(), 0);
    // A background context can never be cancelled: a plain acquire.
    EXPECT_FALSE(sem.acquire(spindle::background(), 1));
    sem.release();
  });
}

}  // namespace

namespace {

TEST(SyncSemaphore, RuntimeTeardownUnwindsParkedAcquirersCleanly) {
  spindle::Semaphore sem(1);
  sem.acquire();
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    rt.spawn([&sem] { sem.acquire(); }).detach();
    rt.spawn([&sem] {
        auto [ctx, cancel] = spindle::with_cancel(spindle::background());
        (void)sem.acquire(ctx, 1);
        cancel();
      }).detach();
    std::this_thread::sleep_for(10ms);
  }
  sem.release();  // nobody is queued any more: the token stays free
  EXPECT_EQ(sem.held(), 0);
  EXPECT_TRUE(sem.try_acquire());
}

}  // namespace
