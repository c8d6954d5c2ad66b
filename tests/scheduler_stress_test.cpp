// SPDX-License-Identifier: Apache-2.0
// Randomized, time-bounded stress of the scheduler: parking and waking across workers and
// plain threads must never lose a wake-up (a lost one hangs, caught by the watchdog), and
// spawn/join/yield/sleep mixes must compute the right totals.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "runtime/worker.hpp"
#include "spindle/detail/waiter.hpp"
#include "spindle/spindle.hpp"
#include "tests/support/sanitizer_scale.hpp"

using namespace std::chrono_literals;

namespace {

// Fails the test (and ends the process) if the body does not finish in time: a lost
// wake-up shows up as a hang.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit)
      : thread_([this, limit] {
          auto until = std::chrono::steady_clock::now() + limit;
          while (!done_.load()) {
            if (std::chrono::steady_clock::now() > until) {
              std::fprintf(stderr, "watchdog: test hung (lost wake-up?)\n");
              std::abort();
            }
            std::this_thread::sleep_for(10ms);
          }
        }) {}
  ~Watchdog() {
    done_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Runs `round` again and again for `period` (under a watchdog) and returns how many rounds
// ran.
template <class Round>
int rounds_for(std::chrono::milliseconds period, Round&& round) {
  Watchdog dog(60s);
  const auto until = std::chrono::steady_clock::now() + period;
  int rounds = 0;
  while (std::chrono::steady_clock::now() < until) {
    round(rounds);
    ++rounds;
  }
  return rounds;
}

TEST(SchedulerStress, WakeUpsFromThreadsAreNeverLost) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::mt19937 rng(1234);
  const int rounds = rounds_for(1500ms, [&](int) {
    std::atomic<spindle::detail::Waiter*> slot{nullptr};
    int spin = static_cast<int>(rng() % 2000);
    auto t = rt.spawn([&] {
      spindle::detail::Waiter w;
      slot.store(&w);
      w.park();
      return 1;
    });
    // Wake from a plain thread after a random delay: sometimes before the task parks,
    // sometimes long after the workers went idle.
    for (int i = 0; i < spin; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
    spindle::detail::Waiter* w;
    while ((w = slot.load()) == nullptr) std::this_thread::yield();
    if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
    w->unpark();
    EXPECT_EQ(t.join(), 1);
  });
  EXPECT_GT(rounds, 10);
}

// Two wakers race on one waiter (as a timer and a channel do on a timed wait): the task
// resumes exactly once, and exactly one wake() reports that it woke it, whether the wakers
// come before the park, during it or after it.
TEST(SchedulerStress, RacingWakersWakeOnceAndExactlyOneReportsIt) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::mt19937 rng(99);
  const int rounds = rounds_for(1500ms, [&](int round) {
    std::atomic<spindle::detail::Waiter*> slot{nullptr};
    std::atomic<int> wakers_done{0};
    std::atomic<int> reported{0};
    std::atomic<int> resumed{0};
    auto t = rt.spawn([&] {
      spindle::detail::Waiter w;
      slot.store(&w);
      w.park();
      resumed.fetch_add(1);
      // Both wakers may still be inside wake(): the waiter must outlive them.
      while (wakers_done.load() < 2) std::this_thread::yield();
    });
    // Both wakers start together (within a few instructions of each other, so that both
    // can find the task parked before either has finished), at a random moment relative to
    // the park.
    std::atomic<bool> go{false};
    const int start_delay = static_cast<int>(rng() % 4000);
    const int jitter_a = static_cast<int>(rng() % 32);
    const int jitter_b = static_cast<int>(rng() % 32);
    auto waker = [&](int jitter) {
      while (!go.load()) {
      }
      for (int i = 0; i < jitter; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
      if (slot.load()->wake()) reported.fetch_add(1);
      wakers_done.fetch_add(1);
    };
    std::thread a(waker, jitter_a);
    std::thread b(waker, jitter_b);
    while (slot.load() == nullptr) std::this_thread::yield();
    if (round % 2 == 0) {
      // Long enough for the task to have parked: both wakers find it parked.
      std::this_thread::sleep_for(100us);
    } else {
      for (int i = 0; i < start_delay; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
    }
    go.store(true);
    a.join();
    b.join();
    t.join();
    ASSERT_EQ(resumed.load(), 1);
    ASSERT_EQ(reported.load(), 1) << "round " << round;
  });
  EXPECT_GT(rounds, 10);
}

TEST(SchedulerStress, PingPongAcrossWorkersWithIdleGaps) {
  Watchdog dog(60s);
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  const auto until = std::chrono::steady_clock::now() + 1000ms;
  while (std::chrono::steady_clock::now() < until) {
    rt.block_on([] {
      std::atomic<spindle::detail::Waiter*> a{nullptr}, b{nullptr};
      auto pong = spindle::spawn([&] {
        for (int i = 0; i < 50; ++i) {
          spindle::detail::Waiter w;
          b.store(&w);
          spindle::detail::Waiter* other;
          while ((other = a.exchange(nullptr)) == nullptr) spindle::yield();
          other->unpark();
          w.park();
        }
      });
      for (int i = 0; i < 50; ++i) {
        spindle::detail::Waiter w;
        a.store(&w);
        w.park();
        spindle::detail::Waiter* other;
        while ((other = b.exchange(nullptr)) == nullptr) spindle::yield();
        other->unpark();
      }
      pong.join();
    });
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // let workers park
  }
}

long tree(int depth, std::mt19937& rng) {
  if (depth == 0) {
    switch (rng() % 3) {
      case 0:
        spindle::yield();
        break;
      case 1:
        spindle::sleep_for(std::chrono::microseconds(rng() % 200));
        break;
      default:
        break;
    }
    return 1;
  }
  int n = 1 + static_cast<int>(rng() % 4);
  std::vector<spindle::Task<long>> kids;
  for (int i = 0; i < n; ++i) {
    unsigned seed = static_cast<unsigned>(rng());
    kids.push_back(spindle::spawn([depth, seed] {
      std::mt19937 r(seed);
      return tree(depth - 1, r);
    }));
  }
  long sum = 0;
  for (auto& k : kids) sum += k.join();
  return sum;
}

TEST(SchedulerStress, RandomTreesOfTasksComputeTheirLeafCount) {
  Watchdog dog(60s);
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  unsigned seed = 99;
  while (std::chrono::steady_clock::now() < until) {
    ++seed;
    // Count the leaves the same way on a plain thread for the expected value.
    std::function<long(int, std::mt19937&)> count = [&](int depth, std::mt19937& rng) -> long {
      if (depth == 0) {
        auto k = rng() % 3;
        if (k == 1) (void)rng();
        return 1;
      }
      int n = 1 + static_cast<int>(rng() % 4);
      long s = 0;
      for (int i = 0; i < n; ++i) {
        std::mt19937 r(static_cast<unsigned>(rng()));
        s += count(depth - 1, r);
      }
      return s;
    };
    std::mt19937 a(seed), b(seed);
    long want = count(4, a);
    long got = rt.block_on([&] { return tree(4, b); });
    ASSERT_EQ(got, want) << "seed " << seed;
  }
}

TEST(SchedulerStress, OutsideThreadsSpawnConcurrently) {
  Watchdog dog(60s);
  constexpr int kPerThread = spindle_test::kUnderTsan ? 500 : 2000;
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::atomic<long> sum{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<spindle::Task<void>> tasks;
      for (int i = 0; i < kPerThread; ++i) tasks.push_back(rt.spawn([&] { sum.fetch_add(1); }));
      for (auto& task : tasks) task.join();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sum.load(), 4 * kPerThread);
}

}  // namespace

// A task woken into its waker's runnext slot while the waker computes on is taken by an idle
// worker after a few microseconds (Go's thieves wait 3 us too), and the owner takes the same
// slot with plain loads and stores when its running task parks. The computing stretches
// below straddle that patience, so thieves and owners reach the slot at the same moment:
// every woken task must run exactly once (a double resume corrupts its stack, a lost one
// hangs the watchdog), and every message must arrive once.
TEST(SchedulerStress, RunnextStealsRaceTheOwnersOwnTake) {
  Watchdog dog(60s);
  spindle::Runtime rt{spindle::Options{.workers = 3}};
  constexpr int kPairs = 2;
  std::atomic<long> received{0};
  std::atomic<long> moved{0};  // a partner that ran on another worker than its sender
  const long sent = rt.block_on([&] {
    std::vector<spindle::Task<long>> producers;
    for (int p = 0; p < kPairs; ++p) {
      producers.push_back(spindle::spawn([&, p] {
        spindle::Chan<std::size_t> to;  // carries the sender's worker index
        spindle::Chan<int> back;
        auto partner = spindle::spawn([&, to, back]() mutable {
          while (auto from = to.recv()) {
            if (*from != spindle::detail::Worker::current()->index()) moved.fetch_add(1);
            received.fetch_add(1);
            back.send(1);
          }
        });
        std::mt19937 rng(static_cast<unsigned>(p) + 1);
        long n = 0;
        const auto until = std::chrono::steady_clock::now() + 300ms;
        while (std::chrono::steady_clock::now() < until) {
          to.send(spindle::detail::Worker::current()->index());  // partner -> our runnext
          // Compute for 0..8 us without parking: the partner waits in runnext meanwhile.
          const auto stop =
              std::chrono::steady_clock::now() + std::chrono::nanoseconds(rng() % 8000);
          while (std::chrono::steady_clock::now() < stop) {
          }
          (void)back.recv();  // parks: this worker takes runnext, unless a thief did
          ++n;
        }
        to.close();
        partner.join();
        return n;
      }));
    }
    long total = 0;
    for (auto& t : producers) total += t.join();
    return total;
  });
  EXPECT_EQ(received.load(), sent);
  RecordProperty("partners_taken_by_thieves", static_cast<int>(moved.load()));
  std::printf("%ld messages, %ld partners ran on a thief\n", sent, moved.load());
}
