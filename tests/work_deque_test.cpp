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

TEST(WorkDeque, ConcurrentStealDeliversEachItemExactlyOnce) {
  constexpr std::size_t kItems = 200'000;
  WorkDeque d(4);
  std::vector<std::atomic<int>> seen(kItems);
  std::atomic<bool> done{false};
  std::atomic<std::size_t> taken{0};
  auto thief = [&] {
    while (!done.load()) {
      if (Fiber* f = d.steal()) {
        seen[index_of(f)].fetch_add(1);
        taken.fetch_add(1);
      }
    }
  };
  std::thread t1(thief), t2(thief);
  std::size_t next = 0;
  while (next < kItems) {
    // Bursts of pushes with interleaved pops exercise the last-item race.
    for (int k = 0; k < 7 && next < kItems; ++k) d.push(item(next++));
    for (int k = 0; k < 3; ++k) {
      if (Fiber* f = d.pop()) {
        seen[index_of(f)].fetch_add(1);
        taken.fetch_add(1);
      }
    }
  }
  while (Fiber* f = d.pop()) {
    seen[index_of(f)].fetch_add(1);
    taken.fetch_add(1);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (taken.load() < kItems && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  done = true;
  t1.join();
  t2.join();
  ASSERT_EQ(taken.load(), kItems);
  for (std::size_t i = 0; i < kItems; ++i) ASSERT_EQ(seen[i].load(), 1) << "item " << i;
}

}  // namespace
