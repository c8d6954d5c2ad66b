// SPDX-License-Identifier: Apache-2.0
// Task records come from per-thread caches with a shared pool behind them
// (runtime/task_alloc.cpp): whatever the callable's size and alignment, and whichever
// threads allocate and free a record, a task sees its captures intact.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <thread>
#include <vector>

#include "spindle/spindle.hpp"
#include "tests/support/sanitizer_scale.hpp"

namespace {

struct alignas(128) Wide {
  std::array<std::uint64_t, 4> words{};
};

TEST(TaskAlloc, OverAlignedCapturesAreAligned) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    std::vector<spindle::Task<std::uintptr_t>> tasks;
    for (int i = 0; i < 100; ++i) {
      Wide w;
      w.words[0] = static_cast<std::uint64_t>(i);
      tasks.push_back(spindle::spawn([w] { return reinterpret_cast<std::uintptr_t>(&w); }));
    }
    // The lambda's copy lives in the record: its address is where the capture sits.
    for (auto& t : tasks) EXPECT_EQ(t.join() % alignof(Wide), 0u);
  });
}

// Captures of 8 bytes to about 2 KiB: every size class, and the sizes that bypass them.
template <std::size_t N>
std::uint64_t spawn_and_sum(std::uint64_t seed) {
  std::array<std::uint64_t, N> data;
  std::iota(data.begin(), data.end(), seed);
  auto t = spindle::spawn([data] { return std::accumulate(data.begin(), data.end(), 0ull); });
  return t.join();
}

template <std::size_t N>
std::uint64_t expected_sum(std::uint64_t seed) {
  return N * seed + N * (N - 1) / 2;
}

TEST(TaskAlloc, CapturesOfEverySizeSurvive) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    for (std::uint64_t round = 0; round < 50; ++round) {
      EXPECT_EQ(spawn_and_sum<1>(round), expected_sum<1>(round));
      EXPECT_EQ(spawn_and_sum<9>(round), expected_sum<9>(round));
      EXPECT_EQ(spawn_and_sum<24>(round), expected_sum<24>(round));
      EXPECT_EQ(spawn_and_sum<49>(round), expected_sum<49>(round));
      EXPECT_EQ(spawn_and_sum<60>(round), expected_sum<60>(round));
      EXPECT_EQ(spawn_and_sum<63>(round), expected_sum<63>(round));
      EXPECT_EQ(spawn_and_sum<64>(round), expected_sum<64>(round));
      EXPECT_EQ(spawn_and_sum<250>(round), expected_sum<250>(round));
    }
  });
}

// Plain threads spawn batches bigger than a thread's cache, other threads join them, every
// thread ends (handing its cache to the pool), and the runtime is rebuilt (emptying the
// pool) between rounds. A record reused while still in use, or lost between thread and
// pool, shows as a wrong sum or a sanitizer report.
TEST(TaskAlloc, RecordsMoveBetweenThreadsRuntimesAndPool) {
  constexpr int kRounds = spindle_test::kUnderTsan ? 2 : 4;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1500;  // over the 256 a thread keeps per size class
  for (int round = 0; round < kRounds; ++round) {
    spindle::Runtime rt{spindle::Options{.workers = 2}};
    std::vector<std::vector<spindle::Task<std::uint64_t>>> made(kThreads);
    std::vector<std::thread> spawners;
    for (int th = 0; th < kThreads; ++th) {
      spawners.emplace_back([&, th] {
        for (int i = 0; i < kPerThread; ++i) {
          const auto v = static_cast<std::uint64_t>(th * kPerThread + i);
          if (i % 3 == 0) {
            std::array<std::uint64_t, 40> pad{};
            pad[39] = v;
            made[th].push_back(rt.spawn([pad] { return pad[39]; }));
          } else {
            made[th].push_back(rt.spawn([v] { return v; }));
          }
        }
      });
    }
    for (auto& t : spawners) t.join();
    std::atomic<std::uint64_t> sum{0};
    std::vector<std::thread> joiners;
    for (int th = 0; th < kThreads; ++th) {
      // Each thread joins another's tasks: the record is freed away from where it was made.
      joiners.emplace_back([&, th] {
        for (auto& t : made[(th + 1) % kThreads]) sum += t.join();
      });
    }
    for (auto& t : joiners) t.join();
    const std::uint64_t n = kThreads * kPerThread;
    EXPECT_EQ(sum.load(), n * (n - 1) / 2) << "round " << round;
  }
}

}  // namespace
