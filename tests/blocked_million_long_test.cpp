// SPDX-License-Identifier: Apache-2.0
// A million concurrently blocked tasks on a default kernel (vm.max_map_count 65530): stacks
// must not cost one mapping each, and a blocked task must cost about one page of memory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <vector>

#include "spindle/detail/waiter.hpp"
#include "spindle/spindle.hpp"

namespace {

long rss_kib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST(MillionTasks, AllBlockedAtOnceThenUnwound) {
  constexpr int kTasks = 1'000'000;
  std::atomic<int> unwound{0};
  long before = rss_kib();
  long during = 0;
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    std::atomic<int> blocked{0};
    rt.block_on([&] {
      for (int i = 0; i < kTasks; ++i) {
        spindle::spawn([&] {
          struct Count {
            std::atomic<int>& n;
            ~Count() { n.fetch_add(1, std::memory_order_relaxed); }
          } c{unwound};
          spindle::detail::Waiter w;
          blocked.fetch_add(1, std::memory_order_relaxed);
          w.park();  // nobody wakes it: only teardown ends it
        }).detach();
      }
    });
    while (blocked.load() < kTasks) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    during = rss_kib();
    std::printf("guard mode: %s; RSS per blocked task: %.2f KiB\n",
                spindle::to_string(rt.guard_mode()), static_cast<double>(during - before) / kTasks);
  }
  EXPECT_EQ(unwound.load(), kTasks);
  // About one page plus the task record; generous bound, this is not a benchmark.
  EXPECT_LT(static_cast<double>(during - before) / kTasks, 8.0);
}

}  // namespace
