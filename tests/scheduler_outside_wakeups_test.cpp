// SPDX-License-Identifier: Apache-2.0
// Tasks readied by threads outside the runtime (the monitor firing overdue timers, a plain
// thread on a channel) queue apart from outside spawns and hand-offs, and workers take them
// first (Worker::find_global()): a woken task does not wait behind a backlog of new tasks.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "runtime/coarse_clock.hpp"
#include "spindle/spindle.hpp"

namespace {

using namespace std::chrono_literals;

std::atomic<bool> g_hold_monitor{false};

void held_monitor() {
  while (g_hold_monitor.load()) std::this_thread::sleep_for(1ms);
}

// Keeps the monitor out of the test (its looks call the hook): a worker held for longer than
// its patience would otherwise have its queues handed off and a spare started, whatever the
// load of the machine.
struct MonitorHeld {
  MonitorHeld() {
    g_hold_monitor = true;
    spindle::detail::g_background_refresh_hook.store(&held_monitor);
  }
  ~MonitorHeld() {
    g_hold_monitor = false;
    spindle::detail::g_background_refresh_hook.store(nullptr);
  }
};

TEST(OutsideWakeUps, RunBeforeTheSpawnsQueuedAheadOfThem) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  MonitorHeld held;  // released before the runtime stops its monitor
  spindle::Chan<int> ch;
  std::atomic<int> next{0};
  std::atomic<int> woken_at{-1};
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  // One worker runs these in order: the receiver parks before the holder starts.
  auto receiver = rt.spawn([&, ch]() mutable {
    (void)ch.recv();
    woken_at = next++;
  });
  auto holder = rt.spawn([&] {
    holding = true;
    while (!release.load()) std::this_thread::yield();
  });
  while (!holding.load()) std::this_thread::sleep_for(100us);
  constexpr int kQueued = 100;
  std::vector<spindle::Task<void>> queued;
  for (int i = 0; i < kQueued; ++i) queued.push_back(rt.spawn([&] { next++; }));
  ch.send(1);  // from this plain thread: the receiver becomes runnable behind the spawns
  release = true;
  holder.join();
  receiver.join();
  for (auto& t : queued) t.join();
  EXPECT_EQ(woken_at.load(), 0) << "the woken receiver ran after " << woken_at.load() << " of the "
                                << kQueued << " spawns queued before its wake-up";
}

}  // namespace
