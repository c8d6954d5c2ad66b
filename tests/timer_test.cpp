// SPDX-License-Identifier: Apache-2.0
// The timer heap and the timer facility: order, cancellation, periodic timers, cancel
// racing a running callback, and timers armed from plain threads.
#include "spindle/detail/timer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "runtime/timer_heap.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;
using spindle::detail::TimerHeap;
using spindle::detail::TimerNode;

namespace {

struct Recorder {
  std::vector<int> fired;
};

void record(TimerNode& n) {
  auto* r = static_cast<Recorder*>(n.context);
  r->fired.push_back(static_cast<int>(n.when.time_since_epoch().count()));
}

TEST(TimerHeap, FiresInDeadlineOrderAndSkipsCancelled) {
  TimerHeap heap(nullptr);
  Recorder rec;
  std::vector<std::unique_ptr<TimerNode>> nodes;
  std::mt19937 rng(7);
  std::vector<int> whens;
  for (int i = 0; i < 200; ++i) {
    nodes.push_back(std::make_unique<TimerNode>(&record, &rec));
    int w = static_cast<int>(rng() % 1000);
    nodes.back()->when = spindle::TimePoint(spindle::Clock::duration(w));
    heap.add(*nodes.back());
    whens.push_back(w);
  }
  std::vector<int> expected;
  for (int i = 0; i < 200; ++i) {
    if (i % 3 == 0) {
      EXPECT_TRUE(heap.cancel(*nodes[i]));
      EXPECT_FALSE(heap.cancel(*nodes[i]));  // idempotent
    } else {
      expected.push_back(whens[i]);
    }
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(heap.run_due(spindle::TimePoint(spindle::Clock::duration(499))),
            static_cast<std::size_t>(
                std::count_if(expected.begin(), expected.end(), [](int w) { return w <= 499; })));
  heap.run_due(spindle::TimePoint(spindle::Clock::duration(5000)));
  EXPECT_EQ(rec.fired, expected);
  EXPECT_EQ(heap.next_deadline_ns(), TimerHeap::kNever);
}

// Adds, cancels from anywhere in the heap and partial runs, interleaved at random against a
// model: each run fires exactly the pending nodes due by then, in deadline order, and the
// mirrored earliest deadline is always the model's.
TEST(TimerHeap, RandomAddsCancelsAndRunsMatchAModel) {
  TimerHeap heap(nullptr);
  Recorder rec;
  std::mt19937 rng(2026);
  std::vector<std::unique_ptr<TimerNode>> nodes;
  std::vector<int> pending;  // indices into nodes, in no order
  int now = 0;
  for (int step = 0; step < 20000; ++step) {
    const unsigned op = rng() % 10;
    if (op < 6) {
      nodes.push_back(std::make_unique<TimerNode>(&record, &rec));
      const int w = now + static_cast<int>(rng() % 500);
      nodes.back()->when = spindle::TimePoint(spindle::Clock::duration(w));
      heap.add(*nodes.back());
      pending.push_back(static_cast<int>(nodes.size() - 1));
    } else if (op < 9 && !pending.empty()) {
      const std::size_t k = rng() % pending.size();
      ASSERT_TRUE(heap.cancel(*nodes[static_cast<std::size_t>(pending[k])])) << "step " << step;
      pending[k] = pending.back();
      pending.pop_back();
    } else {
      now += static_cast<int>(rng() % 50);
      std::vector<int> due;
      std::vector<int> rest;
      for (int i : pending) {
        const int w =
            static_cast<int>(nodes[static_cast<std::size_t>(i)]->when.time_since_epoch().count());
        (w <= now ? due : rest).push_back(i);
      }
      std::vector<int> expected;
      for (int i : due) {
        expected.push_back(
            static_cast<int>(nodes[static_cast<std::size_t>(i)]->when.time_since_epoch().count()));
      }
      std::sort(expected.begin(), expected.end());
      rec.fired.clear();
      ASSERT_EQ(heap.run_due(spindle::TimePoint(spindle::Clock::duration(now))), due.size());
      ASSERT_EQ(rec.fired, expected) << "step " << step;
      pending = rest;
    }
    std::int64_t earliest = TimerHeap::kNever;
    for (int i : pending) {
      earliest = std::min<std::int64_t>(
          earliest, nodes[static_cast<std::size_t>(i)]->when.time_since_epoch().count());
    }
    ASSERT_EQ(heap.next_deadline_ns(), earliest) << "step " << step;
  }
  EXPECT_EQ(heap.size(), pending.size());
}

TEST(TimerHeap, PeriodicTimerRearmsUntilCancelled) {
  TimerHeap heap(nullptr);
  std::atomic<int> count{0};
  TimerNode n([](TimerNode& node) { static_cast<std::atomic<int>*>(node.context)->fetch_add(1); },
              &count);
  n.when = spindle::TimePoint(10ns);
  n.period = 10ns;
  heap.add(n);
  for (int t = 10; t <= 50; t += 10) heap.run_due(spindle::TimePoint(std::chrono::nanoseconds(t)));
  EXPECT_EQ(count.load(), 5);
  EXPECT_TRUE(heap.cancel(n));
  heap.run_due(spindle::TimePoint(1s));
  EXPECT_EQ(count.load(), 5);
}

TEST(TimerHeap, CancelWaitsForARunningCallback) {
  TimerHeap heap(nullptr);
  struct State {
    std::atomic<bool> entered{false};
    std::atomic<bool> finished{false};
  } st;
  TimerNode n(
      [](TimerNode& node) {
        auto* s = static_cast<State*>(node.context);
        s->entered = true;
        std::this_thread::sleep_for(50ms);
        s->finished = true;
      },
      &st);
  n.when = spindle::TimePoint(1ns);
  heap.add(n);
  std::thread firer([&] { heap.run_due(spindle::TimePoint(1s)); });
  while (!st.entered) std::this_thread::yield();
  EXPECT_FALSE(heap.cancel(n));  // too late to prevent it...
  EXPECT_TRUE(st.finished);      // ...but it returns only after the callback finished
  firer.join();
}

TEST(Timers, ArmedFromPlainThreadFire) {
  std::atomic<int> fired{0};
  TimerNode n([](TimerNode& node) { static_cast<std::atomic<int>*>(node.context)->store(1); },
              &fired);
  n.when = spindle::Clock::now() + 5ms;
  spindle::detail::timer_add(n);
  auto until = std::chrono::steady_clock::now() + 5s;
  while (fired.load() == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(fired.load(), 1);
  spindle::detail::timer_cancel(n);
}

TEST(Timers, SleepingTasksWakeWhileAllWorkersIdle) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  // Every worker goes idle while the sleepers wait: the watcher must wake on time.
  auto t = rt.spawn([] {
    auto start = spindle::Clock::now();
    spindle::sleep_for(30ms);
    return spindle::Clock::now() - start;
  });
  auto elapsed = t.join();
  EXPECT_GE(elapsed, 30ms);
  EXPECT_LT(elapsed, 3s);
}

TEST(Timers, EarlierTimerShortensTheWatchersSleep) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  auto long_sleeper = rt.spawn([] { spindle::sleep_for(800ms); });
  std::this_thread::sleep_for(20ms);  // the worker now watches an 800 ms deadline
  auto start = std::chrono::steady_clock::now();
  rt.block_on([] { spindle::sleep_for(10ms); });
  // Woken for the 10 ms timer, not at the watcher's original deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 600ms);
  long_sleeper.join();
}

TEST(Timers, CancelAfterTheRuntimeIsGoneIsHarmless) {
  auto node = std::make_unique<TimerNode>([](TimerNode&) {}, nullptr);
  {
    spindle::Runtime rt{spindle::Options{.workers = 1}};
    rt.block_on([&] {
      node->when = spindle::Clock::now() + 1h;
      spindle::detail::timer_add(*node);
    });
  }
  // The node outlived the runtime whose heap it was armed on (a context with a deadline,
  // say): cancelling it must not touch the dead heap.
  EXPECT_FALSE(spindle::detail::timer_cancel(*node));
}

}  // namespace

namespace {

// A worker fires the nodes due together latest first (the tasks they wake then run earliest
// first: each wake-up goes into runnext and displaces the later one onto the deque). The
// batch is bounded; batches come in deadline order.
TEST(TimerHeap, LatestFirstReversesEachBatchOfDueNodes) {
  for (const int count : {20, 70}) {
    TimerHeap heap(nullptr);
    Recorder rec;
    std::vector<std::unique_ptr<TimerNode>> nodes;
    for (int i = 0; i < count; ++i) {
      nodes.push_back(std::make_unique<TimerNode>(&record, &rec));
      const int w = (i * 37) % count;  // distinct deadlines, added out of order
      nodes.back()->when = spindle::TimePoint(spindle::Clock::duration(w));
      heap.add(*nodes.back());
    }
    EXPECT_EQ(heap.run_due(spindle::TimePoint(spindle::Clock::duration(count)),
                           TimerHeap::Order::latest_first),
              static_cast<std::size_t>(count));
    std::vector<int> expected;
    for (int start = 0; start < count; start += 32) {
      for (int w = std::min(start + 32, count) - 1; w >= start; --w) expected.push_back(w);
    }
    EXPECT_EQ(rec.fired, expected) << count << " nodes";
  }
}

}  // namespace
