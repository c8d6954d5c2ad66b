// SPDX-License-Identifier: Apache-2.0
// The task registry's cross-worker paths: a task that finishes on a worker other than the
// one that spawned it is out of every scan at once, even though its shard's owner unlinks it
// only later (through the finishing worker's ring, or the shared stack when the ring is
// full); a never-joined one is still recorded exactly once; a task that finishes while a
// scan is inside its shard stays alive until the scan is done; and scans from outside
// threads run safely alongside the owners' lock-free spawns and finishes.
#include "runtime/task_registry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "runtime/scheduler.hpp"
#include "runtime/worker.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

spindle::Options quiet(std::size_t workers) {
  return spindle::Options{
      .workers = workers, .on_leak = spindle::LeakPolicy::ignore, .leak_check_wait = 20ms};
}

std::size_t worker_index() { return spindle::detail::Worker::current()->index(); }

spindle::detail::TaskRegistry& registry() {
  return spindle::detail::Worker::current()->scheduler().registry();
}

// Keeps the worker busy for a while (without yielding), so the other worker steals work.
void busy_for(std::chrono::microseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// Keeps the spawning worker busy (without yielding) until `count` reaches `n`, so every task
// it spawned must run, and finish, on the other worker; false after 10 s.
bool hold_worker_until(const std::atomic<int>& count, int n) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (count.load() < n) {
    if (std::chrono::steady_clock::now() > until) return false;
  }
  return true;
}

TEST(TaskRegistry, TasksFinishedOnOtherWorkersLeaveEveryScanAtOnce) {
  spindle::Runtime rt{quiet(2)};
  std::atomic<int> elsewhere{0};
  std::atomic<int> finished{0};
  constexpr int kTasks = 400;
  const std::size_t live = rt.block_on([&] {
    std::vector<spindle::Task<void>> tasks;
    for (int i = 0; i < kTasks; ++i) {
      const std::size_t spawner = worker_index();
      tasks.push_back(spindle::spawn([&elsewhere, &finished, spawner] {
        busy_for(5us);
        if (worker_index() != spawner) elsewhere.fetch_add(1);
        finished.fetch_add(1);
      }));
    }
    EXPECT_TRUE(hold_worker_until(finished, kTasks));
    // The spawning worker was held the whole time: every task finished on the other one,
    // far more than a ring holds, so the shared stack took the rest.
    EXPECT_EQ(elsewhere.load(), kTasks);
    EXPECT_GT(registry().stats().ring_full, 0u);
    for (auto& t : tasks) t.join();
    return rt.tasks().size();  // only this task is left
  });
  EXPECT_EQ(live, 1u);
  EXPECT_GT(elsewhere.load(), 0) << "no task finished on the other worker: path not exercised";
  EXPECT_TRUE(rt.leaks().empty());
}

TEST(TaskRegistry, NeverJoinedTaskFinishedOnAnotherWorkerIsReportedOnce) {
  spindle::Runtime rt{quiet(2)};
  constexpr int kTasks = 200;
  std::atomic<int> finished{0};
  std::atomic<int> elsewhere{0};
  rt.block_on([&] {
    for (int i = 0; i < kTasks; ++i) {
      const std::size_t spawner = worker_index();
      // Dropped at once: never joined.
      (void)spindle::spawn(spindle::TaskName{"dropped"}, [&, spawner] {
        busy_for(5us);
        if (worker_index() != spawner) elsewhere.fetch_add(1);
        finished.fetch_add(1);
      });
    }
    EXPECT_TRUE(hold_worker_until(finished, kTasks));
  });
  // The last tasks may still be between their count and the end of their finish: wait
  // (bounded) until every one is reported as finished.
  spindle::LeakReport leaks = rt.leaks();
  for (const auto until = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < until; leaks = rt.leaks()) {
    std::size_t done = 0;
    for (const spindle::TaskInfo& t : leaks.tasks()) done += t.state == "finished" ? 1 : 0;
    if (done >= static_cast<std::size_t>(kTasks)) break;
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(leaks.size(), static_cast<std::size_t>(kTasks));
  for (const spindle::TaskInfo& t : leaks.tasks()) {
    EXPECT_TRUE(t.never_joined);
    EXPECT_EQ(t.state, "finished");
    EXPECT_EQ(t.name, "dropped");
  }
  EXPECT_GT(elsewhere.load(), 0) << "no task finished on the other worker: path not exercised";
}

// A scan paused inside the spawning worker's shard while tasks finish on the other worker:
// those tasks' nodes are still linked and the scan may be about to read their cores, so the
// finishers must leave the cores to the registry (deferred) instead of dropping them.
// Under ASan, a core freed too early is a use-after-free in the scan.
TEST(TaskRegistry, TasksFinishingWhileAScanIsInsideStayAliveForIt) {
  spindle::Runtime rt{quiet(2)};
  constexpr int kTasks = 32;
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  spindle::Chan<int> gate;  // closed to let the tasks finish
  static std::atomic<std::size_t> pause_shard{~std::size_t{0}};
  static std::atomic<bool> paused{false};
  static std::atomic<bool> resume{false};
  paused = false;
  resume = false;
  spindle::detail::g_registry_visit_hook.store([](std::size_t shard) {
    if (shard != pause_shard.load()) return;
    paused.store(true);
    while (!resume.load()) std::this_thread::yield();
  });
  std::vector<spindle::TaskInfo> seen;
  std::thread scanner;
  rt.block_on([&] {
    pause_shard = worker_index();
    for (int i = 0; i < kTasks; ++i) {
      // Detached: once finished, only the finisher's reference keeps the core alive.
      spindle::spawn([&] {
        started.fetch_add(1);
        EXPECT_FALSE(gate.recv().has_value());  // parked, so the other worker takes more
        finished.fetch_add(1);
      }).detach();
    }
    // Hold this worker until the other one has started every task, then pause a scan
    // inside this worker's shard and let the tasks finish under it.
    EXPECT_TRUE(hold_worker_until(started, kTasks));
    scanner = std::thread([&] { seen = rt.tasks(); });
    while (!paused.load()) std::this_thread::yield();
    gate.close();
    EXPECT_TRUE(hold_worker_until(finished, kTasks));
    // Give the finishers time to complete their hand-over (each is counted once done).
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (registry().stats().deferred < static_cast<std::uint64_t>(kTasks) &&
           std::chrono::steady_clock::now() < until) {
    }
    resume.store(true);
    scanner.join();
    EXPECT_EQ(registry().stats().deferred, static_cast<std::uint64_t>(kTasks));
    EXPECT_EQ(rt.tasks().size(), 1u);
  });
  spindle::detail::g_registry_visit_hook.store(nullptr);
  for (const spindle::TaskInfo& t : seen) EXPECT_NE(t.state, "finished");
  EXPECT_TRUE(rt.leaks().empty());
}

TEST(TaskRegistry, ScansFromThreadsRaceWithSpawnsAndFinishes) {
  spindle::Runtime rt{quiet(2)};
  std::atomic<bool> stop{false};
  std::atomic<long> scans{0};
  std::thread scanner([&] {
    while (!stop.load()) {
      for (const spindle::TaskInfo& t : rt.tasks()) {
        // Every entry a scan returns is a live task with its spawn site intact.
        EXPECT_NE(t.line, 0u);
        EXPECT_NE(t.state, "finished");
      }
      scans.fetch_add(1);
    }
  });
  const auto until = std::chrono::steady_clock::now() + 300ms;
  rt.block_on([&] {
    while (std::chrono::steady_clock::now() < until) {
      std::vector<spindle::Task<int>> batch;
      for (int i = 0; i < 64; ++i) {
        batch.push_back(spindle::spawn([i] {
          if (i % 8 == 0) spindle::yield();
          return i;
        }));
      }
      int sum = 0;
      for (auto& t : batch) sum += t.join();
      EXPECT_EQ(sum, 63 * 64 / 2);
    }
  });
  stop.store(true);
  scanner.join();
  EXPECT_GT(scans.load(), 0);
  EXPECT_TRUE(rt.leaks().empty());
}

}  // namespace
