// SPDX-License-Identifier: Apache-2.0
// Where woken tasks run. A task woken by a message goes to its waker's runnext slot and
// should run there, next to its partner, rather than be taken by an idle worker in the
// moment between the wake and the waker parking (that would split a ping-pong across
// workers and cost a cross-thread wake-up per message). But a task left behind a worker that stays
// busy must still be taken by an idle one: patience, not starvation.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "runtime/worker.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

std::size_t worker_index() { return spindle::detail::Worker::current()->index(); }

// Spins without yielding (a long computation, as the scheduler sees it) until `flag` is set
// or the limit passes; returns whether the flag came.
bool busy_wait_for(const std::atomic<bool>& flag, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > until) return false;
  }
  return true;
}

TEST(SchedulerLocality, MessagePartnersShareAWorker) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  constexpr int kRounds = 20000;
  const int together = rt.block_on([] {
    spindle::Chan<std::size_t> ping;
    spindle::Chan<std::size_t> pong;
    auto echo = spindle::spawn([ping, pong]() mutable {
      while (auto from = ping.recv()) pong.send(*from == worker_index() ? 1 : 0);
    });
    int same = 0;
    for (int i = 0; i < kRounds; ++i) {
      ping.send(worker_index());
      same += static_cast<int>(pong.recv().value_or(0));
    }
    ping.close();
    echo.join();
    return same;
  });
  // If thieves took runnext at once, the two tasks would sit on different workers for
  // nearly every message. OS preemption (or a sanitizer's slowdown) may still split them
  // for a while: ask for a clear majority, not all.
  EXPECT_GT(together, kRounds / 2) << together << " of " << kRounds << " rounds on one worker";
}

TEST(SchedulerLocality, LoneSpawnedTaskBehindABusyWorkerIsTaken) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  const bool done = rt.block_on([] {
    std::atomic<bool> flag{false};
    // Queued on this worker, which then never yields: only the other worker can run it.
    auto setter = spindle::spawn([&flag] { flag.store(true); });
    const bool came = busy_wait_for(flag, 10s);
    setter.join();
    return came;
  });
  EXPECT_TRUE(done) << "the other worker never took the queued task";
}

TEST(SchedulerLocality, ManySpawnsBehindABusyWorkerAreAllTaken) {
  // Only a spawn into an empty deque (and every 64th) wakes an idle worker; the worker it
  // woke must keep taking the rest while the spawner never yields, through the idle gaps
  // in which it has stolen everything there was and more keeps coming.
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  constexpr int kTasks = 2000;
  const bool done = rt.block_on([] {
    std::atomic<int> ran{0};
    std::atomic<bool> all{false};
    std::vector<spindle::Task<void>> tasks;
    for (int i = 0; i < kTasks; ++i) {
      tasks.push_back(spindle::spawn([&ran, &all] {
        if (ran.fetch_add(1) + 1 == kTasks) all.store(true);
      }));
      if (i % 100 == 0) std::this_thread::sleep_for(1ms);  // lets the thief run dry now and then
    }
    const bool came = busy_wait_for(all, 20s);
    for (auto& t : tasks) t.join();
    return came;
  });
  EXPECT_TRUE(done) << "the other worker stopped taking the spawned tasks";
}

// Inside a task: parks a task in recv, wakes it into this worker's runnext slot, then stays
// busy; true if the other worker took and ran it.
bool woken_task_left_behind_is_taken() {
  std::atomic<bool> flag{false};
  spindle::Chan<int> go;
  spindle::Chan<int> parked;
  auto waiter = spindle::spawn([go, &flag, parked]() mutable {
    parked.send(1);
    (void)go.recv();
    flag.store(true);
  });
  (void)parked.recv();
  // Wait until the waiter is parked in recv, so that the send below wakes it into this
  // worker's runnext slot.
  std::this_thread::sleep_for(20ms);
  go.send(1);
  const bool came = busy_wait_for(flag, 10s);
  waiter.join();
  return came;
}

TEST(SchedulerLocality, WokenTaskBehindABusyWorkerIsTaken) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  EXPECT_TRUE(rt.block_on(woken_task_left_behind_is_taken))
      << "the other worker never took the task waiting in runnext";
}

TEST(SchedulerLocality, AfterLongMessagePassingALoneTaskLeftBehindIsStillTaken) {
  // A long ping-pong shows the idle worker nothing but lone tasks, episode after episode, so
  // it looks less and less often; a woken task that then stays behind a busy worker must
  // still be taken.
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  const bool done = rt.block_on([] {
    spindle::Chan<int> ping;
    spindle::Chan<int> pong;
    auto echo = spindle::spawn([ping, pong]() mutable {
      while (auto v = ping.recv()) pong.send(*v);
    });
    const auto until = std::chrono::steady_clock::now() + 200ms;
    while (std::chrono::steady_clock::now() < until) {
      ping.send(1);
      (void)pong.recv();
    }
    ping.close();
    echo.join();
    return woken_task_left_behind_is_taken();
  });
  EXPECT_TRUE(done) << "the other worker never took the task waiting in runnext";
}

TEST(SchedulerLocality, AGroupPassingMessagesSharesAWorker) {
  // Two senders and two receivers on one unbuffered channel: every hand-off wakes a task
  // into the waker's runnext and pushes the one there into the deque, so the deque often
  // holds two or three woken tasks. A thief that took those at once would spread the group
  // over both workers for most messages.
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  constexpr int kPerSender = 20000;
  const int together = rt.block_on([] {
    spindle::Chan<std::size_t> ch;
    std::atomic<int> same{0};
    std::vector<spindle::Task<void>> tasks;
    for (int r = 0; r < 2; ++r) {
      tasks.push_back(spindle::spawn([ch, &same]() mutable {
        while (auto from = ch.recv()) {
          if (*from == worker_index()) same.fetch_add(1, std::memory_order_relaxed);
        }
      }));
    }
    std::vector<spindle::Task<void>> senders;
    for (int s = 0; s < 2; ++s) {
      senders.push_back(spindle::spawn([ch]() mutable {
        for (int i = 0; i < kPerSender; ++i) ch.send(worker_index());
      }));
    }
    for (auto& t : senders) t.join();
    ch.close();
    for (auto& t : tasks) t.join();
    return same.load();
  });
  // With the thieves' patience nearly every message is received on the sender's worker;
  // preemption (or a sanitizer's slowdown) may split the group for a while, hence 85%.
  EXPECT_GT(together, 2 * kPerSender * 85 / 100)
      << together << " of " << 2 * kPerSender << " messages received on the sender's worker";
}

TEST(SchedulerLocality, SeveralWokenTasksBehindABusyWorkerAreAllTaken) {
  // The other side of the patience above: woken tasks that stay queued behind a worker that
  // never yields are taken by the idle one.
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  const bool done = rt.block_on([] {
    constexpr int kWoken = 3;
    std::atomic<int> ran{0};
    std::atomic<bool> all{false};
    spindle::Chan<int> go;
    spindle::Chan<int> parked;
    std::vector<spindle::Task<void>> tasks;
    for (int i = 0; i < kWoken; ++i) {
      tasks.push_back(spindle::spawn([go, parked, &ran, &all]() mutable {
        parked.send(1);
        (void)go.recv();
        if (ran.fetch_add(1) + 1 == kWoken) all.store(true);
      }));
    }
    for (int i = 0; i < kWoken; ++i) (void)parked.recv();
    // Let them all park in recv, so the sends below wake them onto this worker (runnext,
    // then its deque, oldest first).
    std::this_thread::sleep_for(20ms);
    for (int i = 0; i < kWoken; ++i) go.send(1);
    const bool came = busy_wait_for(all, 10s);
    for (auto& t : tasks) t.join();
    return came;
  });
  EXPECT_TRUE(done) << "the other worker never took the woken tasks queued behind a busy one";
}

}  // namespace
