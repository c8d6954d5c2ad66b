// SPDX-License-Identifier: Apache-2.0
// The Chase-Lev deque: LIFO for the owner, FIFO for thieves, growth, and exactly-once
// delivery when an owner and several thieves race.
#include "runtime/work_deque.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace {

using spindle::detail::Fiber;
using spindle::detail::WorkDeque;

Fiber* item(std::size_t i) { return reinterpret_cast<Fiber*>((i + 1) * 64); }
std::size_t index_of(Fiber* f) { return reinterpret_cast<std::uintptr_t>(f) / 64 - 1; }

TEST(WorkDeque, OwnerPopsLifoThievesStealFifo) {
  WorkDeque d(2);
  for (std::size_t i = 0; i < 10; ++i) d.push(item(i));  // grows past 4 slots
  EXPECT_EQ(d.size_hint(), 10u);
  EXPECT_EQ(d.steal(), item(0));
  EXPECT_EQ(d.steal(), item(1));
  EXPECT_EQ(d.pop(), item(9));
  EXPECT_EQ(d.pop(), item(8));
  for (std::size_t i = 2; i < 8; ++i) EXPECT_EQ(d.steal(), item(i));
  EXPECT_EQ(d.pop(), nullptr);
  EXPECT_EQ(d.steal(), nullptr);
}

// The owner pushes kItems in runs of `run` and pops up to `pops` after each run while two
// thieves steal; every item must be taken exactly once.
void expect_exactly_once(std::size_t items, std::size_t log2, int run, int pops) {
  WorkDeque d(log2);
  std::vector<std::atomic<int>> seen(items);
  std::atomic<bool> done{false};
  std::atomic<std::size_t> taken{0};
  auto take = [&](Fiber* f) {
    seen[index_of(f)].fetch_add(1);
    taken.fetch_add(1);
  };
  auto thief = [&] {
    while (!done.load()) {
      if (Fiber* f = d.steal()) take(f);
    }
  };
  std::thread t1(thief), t2(thief);
  std::size_t next = 0;
  while (next < items) {
    for (int k = 0; k < run && next < items; ++k) d.push(item(next++));
    for (int k = 0; k < pops; ++k) {
      if (Fiber* f = d.pop()) take(f);
    }
  }
  while (Fiber* f = d.pop()) take(f);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (taken.load() < items && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  done = true;
  t1.join();
  t2.join();
  ASSERT_EQ(taken.load(), items);
  for (std::size_t i = 0; i < items; ++i) ASSERT_EQ(seen[i].load(), 1) << "item " << i;
}

TEST(WorkDeque, ConcurrentStealDeliversEachItemExactlyOnce) {
  // Short bursts of pushes with interleaved pops exercise the last-item race.
  expect_exactly_once(200'000, 4, 7, 3);
}

TEST(WorkDeque, LongRunsOfPushesUnderThievesDeliverEachItemExactlyOnce) {
  // Runs of hundreds of pushes keep the owner on its stale sighting of top while thieves
  // advance it, across several growths of the buffer.
  expect_exactly_once(300'000, 2, 500, 200);
}

TEST(WorkDeque, PushSaysWhenThievesDrainedTheDequeWithinEightPushes) {
  WorkDeque d(2);
  for (std::size_t i = 0; i < 43; ++i) d.push(item(i));
  // Thieves take everything behind the owner's back; its sighting of top is now stale.
  for (std::size_t i = 0; i < 43; ++i) ASSERT_EQ(d.steal(), item(i));
  bool reported_empty = false;
  for (std::size_t i = 43; i < 51 && !reported_empty; ++i) reported_empty = d.push(item(i)) == 0;
  EXPECT_TRUE(reported_empty);
  // A deque that keeps some of its items is never reported empty.
  for (std::size_t i = 51; i < 100; ++i) EXPECT_NE(d.push(item(i)), 0u);
}

}  // namespace
