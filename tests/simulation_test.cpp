// SPDX-License-Identifier: Apache-2.0
// testing::Simulation: virtual time, determinism by seed, deadlock and leak reports, misuse.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "spindle/spindle.hpp"
#include "spindle/testing.hpp"

using namespace std::chrono_literals;
using spindle::testing::Schedule;
using spindle::testing::SimOptions;
using spindle::testing::Simulation;

namespace {

TEST(Simulation, ApiSnippet) {
  spindle::testing::Simulation sim{spindle::testing::SimOptions{.seed = 42}};
  const auto wall_start = std::chrono::steady_clock::now();
  const auto before = sim.now();
  int r = sim.run([] {
    spindle::sleep_for(1h);
    return 1;
  });
  EXPECT_EQ(r, 1);
  auto t = sim.now();
  std::uint64_t s = sim.seed();
  EXPECT_EQ(s, 42u);
  EXPECT_EQ(t - before, 1h);
  EXPECT_EQ(sim.elapsed(), 1h);
  EXPECT_LT(std::chrono::steady_clock::now() - wall_start, 5s);

  spindle::testing::ExploreResult res =
      spindle::testing::explore(spindle::testing::ExploreOptions{.runs = 1000},
                                [] { /* body; throws or asserts on a bug */ });
  bool found = res.failed;
  EXPECT_FALSE(found) << res.message;
  EXPECT_EQ(res.runs, 1000u);
}

TEST(Simulation, ClockInsideTasksReadsVirtualTime) {
  Simulation sim;
  sim.run([&] {
    const spindle::TimePoint a = spindle::Clock::now();
    EXPECT_EQ(a, sim.now());
    spindle::sleep_for(90min);
    EXPECT_EQ(spindle::Clock::now() - a, 90min);
  });
  // Outside run() the thread reads the machine's clock again.
  EXPECT_NE(spindle::Clock::now(), sim.now());
}

TEST(Simulation, SleepersWakeInDeadlineOrder) {
  Simulation sim{SimOptions{.seed = 7}};
  std::vector<int> order;
  sim.run([&] {
    std::vector<spindle::Task<void>> tasks;
    for (int i : {5, 1, 4, 2, 3}) {
      tasks.push_back(spindle::spawn([&order, i] {
        spindle::sleep_for(std::chrono::hours(i));
        order.push_back(i);
      }));
    }
    for (auto& t : tasks) t.join();
  });
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(sim.elapsed(), 5h);
}

TEST(Simulation, TickerAfterAndContextDeadlinesFollowVirtualTime) {
  Simulation sim;
  sim.run([] {
    const auto start = spindle::Clock::now();
    spindle::Ticker ticker(10min);
    for (int i = 1; i <= 6; ++i) {
      auto tick = ticker.chan().recv();
      ASSERT_TRUE(tick.has_value());
      EXPECT_EQ(*tick - start, i * 10min);
    }
    ticker.stop();
    auto timeout = spindle::after(2h);
    EXPECT_TRUE(timeout.recv().has_value());
    EXPECT_EQ(spindle::Clock::now() - start, 3h);

    spindle::Context ctx = spindle::with_timeout(spindle::background(), 24h).ctx;
    ctx.done().recv();
    EXPECT_EQ(ctx.err(), spindle::errc::deadline_exceeded);
    EXPECT_EQ(spindle::Clock::now() - start, 27h);
  });
  EXPECT_EQ(sim.elapsed(), 27h);
}

TEST(Simulation, SelectTimeoutTakesNoWallTime) {
  Simulation sim;
  const auto wall_start = std::chrono::steady_clock::now();
  int timeouts = sim.run([] {
    spindle::Chan<int> never;
    int n = 0;
    for (int i = 0; i < 1000; ++i) {
      spindle::select(
          spindle::on_recv(never, [](std::optional<int>) {}),
          spindle::on_recv(spindle::after(1h), [&n](std::optional<spindle::TimePoint>) { ++n; }));
    }
    return n;
  });
  EXPECT_EQ(timeouts, 1000);
  EXPECT_EQ(sim.elapsed(), 1000h);
  EXPECT_LT(std::chrono::steady_clock::now() - wall_start, 10s);
}

// A workload with many scheduling choices: tasks racing to append to a shared log.
std::vector<int> racy_interleaving(Simulation& sim) {
  std::vector<int> log;
  sim.run([&log] {
    spindle::Chan<int> ch(2);
    std::vector<spindle::Task<void>> tasks;
    for (int id = 0; id < 4; ++id) {
      tasks.push_back(spindle::spawn([&log, ch, id] {
        for (int k = 0; k < 5; ++k) {
          log.push_back(id);
          if (k % 2 == 0) spindle::yield();
          ch.send(id);
        }
      }));
    }
    for (int i = 0; i < 20; ++i) log.push_back(100 + *ch.recv());
    for (auto& t : tasks) t.join();
  });
  return log;
}

TEST(Simulation, SameSeedSameRunEventForEvent) {
  Simulation a{SimOptions{.seed = 1234, .trace = true}};
  Simulation b{SimOptions{.seed = 1234, .trace = true}};
  const std::vector<int> la = racy_interleaving(a);
  const std::vector<int> lb = racy_interleaving(b);
  EXPECT_EQ(la, lb);
  ASSERT_FALSE(a.trace().empty());
  EXPECT_EQ(a.trace(), b.trace());
  EXPECT_EQ(a.trace_text(), b.trace_text());
  EXPECT_EQ(a.steps(), b.steps());
}

TEST(Simulation, DifferentSeedsGiveDifferentInterleavings) {
  std::vector<std::vector<int>> seen;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Simulation sim{SimOptions{.seed = seed}};
    auto log = racy_interleaving(sim);
    bool fresh = true;
    for (const auto& s : seen) fresh = fresh && s != log;
    if (fresh) seen.push_back(std::move(log));
  }
  EXPECT_GE(seen.size(), 10u);
}

TEST(Simulation, FifoAndLifoIgnoreTheSeed) {
  for (Schedule schedule : {Schedule::fifo, Schedule::lifo}) {
    Simulation a{SimOptions{.seed = 1, .schedule = schedule}};
    Simulation b{SimOptions{.seed = 999, .schedule = schedule}};
    EXPECT_EQ(racy_interleaving(a), racy_interleaving(b)) << to_string(schedule);
  }
}

TEST(Simulation, PctIsDeterministicPerSeed) {
  Simulation a{SimOptions{.seed = 5, .schedule = Schedule::pct, .pct_depth = 3, .pct_steps = 50}};
  Simulation b{SimOptions{.seed = 5, .schedule = Schedule::pct, .pct_depth = 3, .pct_steps = 50}};
  EXPECT_EQ(racy_interleaving(a), racy_interleaving(b));
}

TEST(Simulation, SelectChoiceComesFromTheSeed) {
  auto choices = [](std::uint64_t seed) {
    Simulation sim{SimOptions{.seed = seed}};
    return sim.run([] {
      spindle::Chan<int> a(1), b(1);
      std::string picks;
      for (int i = 0; i < 64; ++i) {
        a.send(1);
        b.send(2);
        spindle::select(spindle::on_recv(a, [&](std::optional<int>) { picks += 'a'; }),
                        spindle::on_recv(b, [&](std::optional<int>) { picks += 'b'; }));
        // Drain whichever was not taken.
        (void)a.try_recv();
        (void)b.try_recv();
      }
      return picks;
    });
  };
  // This thread's own select generator is already seeded and moving: the simulation must
  // still draw from its seed alone.
  spindle::Chan<int> x(1), y(1);
  x.send(1);
  y.send(2);
  spindle::select(spindle::on_recv(x), spindle::on_recv(y));
  const std::string first = choices(77);
  EXPECT_EQ(first, choices(77));
  EXPECT_NE(first.find('a'), std::string::npos);
  EXPECT_NE(first.find('b'), std::string::npos);
  EXPECT_NE(first, choices(78));
}

TEST(Simulation, TraceNamesTasksWaitsAndTime) {
  Simulation sim{SimOptions{.trace = true}};
  sim.run([] {
    spindle::Chan<int> ch;
    auto t = spindle::spawn([ch] { ch.send(1); });
    spindle::sleep_for(2s);
    (void)ch.recv();
    t.join();
  });
  const std::string text = sim.trace_text();
  EXPECT_NE(text.find("task 1 spawn"), std::string::npos) << text;
  EXPECT_NE(text.find("task 2 spawn"), std::string::npos) << text;
  EXPECT_NE(text.find("park sleep"), std::string::npos) << text;
  EXPECT_NE(text.find("clock advances"), std::string::npos) << text;
  EXPECT_NE(text.find("+2.000000000s"), std::string::npos) << text;
  EXPECT_NE(text.find("exit"), std::string::npos) << text;
}

TEST(Simulation, DeadlockIsReportedAtOnce) {
  Simulation sim{SimOptions{.on_leak = spindle::LeakPolicy::ignore}};
  const auto wall_start = std::chrono::steady_clock::now();
  try {
    sim.run([] {
      spindle::Chan<int> a, b;
      auto t = spindle::spawn([a, b] {
        (void)a.recv();
        b.send(1);
      });
      (void)b.recv();
      a.send(1);
      t.join();
    });
    FAIL() << "expected a Deadlock";
  } catch (const spindle::Deadlock& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("deadlock in simulation"), std::string::npos) << what;
    EXPECT_NE(what.find("chan recv"), std::string::npos) << what;
    EXPECT_NE(what.find("seed 1"), std::string::npos) << what;
    EXPECT_EQ(e.tasks().size(), 2u);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - wall_start, 5s);
  // Destroying the simulation unwinds the two blocked tasks silently (on_leak = ignore).
}

TEST(Simulation, DeadlockIsNotReportedWhileATimerIsPending) {
  Simulation sim;
  EXPECT_NO_THROW(sim.run([] {
    spindle::Chan<int> ch;
    auto t = spindle::spawn([ch] {
      spindle::sleep_for(10h);
      ch.send(3);
    });
    EXPECT_EQ(ch.recv(), 3);
    t.join();
  }));
}

TEST(Simulation, ExceptionsPropagateFromRun) {
  Simulation sim;
  EXPECT_THROW(sim.run([]() -> int { throw std::out_of_range("boom"); }), std::out_of_range);
  // Still usable afterwards, and time carries on.
  sim.run([] { spindle::sleep_for(1s); });
  EXPECT_EQ(sim.elapsed(), 1s);
}

TEST(Simulation, LeftoverTasksAreLeaksAndAreUnwound) {
  bool unwound = false;
  {
    Simulation sim{SimOptions{.on_leak = spindle::LeakPolicy::ignore}};
    spindle::Chan<int> forever;
    sim.run([&] {
      spindle::spawn([forever, &unwound] {
        struct Flag {
          bool& f;
          ~Flag() { f = true; }
        } flag{unwound};
        (void)forever.recv();
      }).detach();
    });
    spindle::LeakReport leaks = sim.leaks();
    ASSERT_EQ(leaks.size(), 1u);
    EXPECT_EQ(leaks.tasks()[0].state, "chan recv");
    EXPECT_EQ(sim.tasks().size(), 1u);
    EXPECT_FALSE(unwound);
  }
  EXPECT_TRUE(unwound);
}

TEST(Simulation, RunnableTasksFinishAfterTheRootWithoutTimePassing) {
  Simulation sim;
  int done = 0;
  sim.run([&done] {
    for (int i = 0; i < 3; ++i) {
      spindle::spawn([&done] {
        spindle::yield();
        ++done;
      }).detach();
    }
  });
  EXPECT_EQ(done, 3);
  EXPECT_TRUE(sim.leaks().empty());
  EXPECT_EQ(sim.elapsed(), 0s);
}

TEST(Simulation, MaxStepsStopsALivelock) {
  Simulation sim{SimOptions{.max_steps = 1000, .on_leak = spindle::LeakPolicy::ignore}};
  try {
    sim.run([] {
      for (;;) spindle::yield();
    });
    FAIL() << "expected max_steps to stop the run";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("max_steps"), std::string::npos) << e.what();
  }
}

TEST(Simulation, BadOptionsAndMisuseThrow) {
  EXPECT_THROW(Simulation(SimOptions{.pct_depth = 0}), std::invalid_argument);
  EXPECT_THROW(Simulation(SimOptions{.stack_size = 1}), std::invalid_argument);
  Simulation sim;
  // run() from inside one of its own tasks.
  EXPECT_THROW(sim.run([&sim] { sim.run([] {}); }), std::logic_error);
  // run() from inside a task of an ordinary runtime.
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  EXPECT_THROW(rt.block_on([&sim] { sim.run([] {}); }), std::logic_error);
}

// A plain thread that sends to a channel a simulated task waits on would make runs
// unrepeatable: whichever side completes the hand-off (the thread waking the task, or the
// task waking the parked thread), the process ends with a message naming the cause.
TEST(Simulation, RealIoCannotBeSimulated) {
  Simulation sim;
  sim.run([] {
    EXPECT_THROW(spindle::blocking([] { return 1; }), std::logic_error);
    auto listener = spindle::net::TcpListener::bind("127.0.0.1", 0);
    try {
      (void)listener.accept();
      ADD_FAILURE() << "accept() inside a simulation must throw";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("testing::Simulation"), std::string::npos) << e.what();
    }
  });
}

TEST(SimulationDeathTest, PlainThreadSharingAChannelWithASimulationIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Simulation sim;
        spindle::Chan<int> ch;
        std::thread outsider([ch] {
          std::this_thread::sleep_for(20ms);
          ch.send(1);
        });
        sim.run([ch] {
          for (bool got = false; !got;) {
            spindle::select(spindle::on_recv(ch, [&got](std::optional<int>) { got = true; }),
                            spindle::on_recv(spindle::after(1ms)));
          }
        });
        outsider.join();
      },
      "testing::Simulation woke one of its tasks|task of a testing::Simulation woke a plain");
}

TEST(Simulation, MutexWaitGroupAndChannelsUnderManySeeds) {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    Simulation sim{SimOptions{.seed = seed}};
    const int total = sim.run([] {
      spindle::Mutex mu;
      spindle::WaitGroup wg;
      int counter = 0;
      spindle::Chan<int> results(4);
      for (int i = 0; i < 8; ++i) {
        wg.add(1);
        spindle::spawn([&, i] {
          for (int k = 0; k < 10; ++k) {
            std::lock_guard lock(mu);
            int seen = counter;
            spindle::yield();  // a preemption point inside the critical section
            counter = seen + 1;
          }
          results.send(i);
          wg.done();
        }).detach();
      }
      int got = 0;
      for (int i = 0; i < 8; ++i) got += *results.recv();
      wg.wait();
      EXPECT_EQ(got, 28);
      return counter;
    });
    EXPECT_EQ(total, 80) << "seed " << seed;
  }
}

}  // namespace
