// SPDX-License-Identifier: Apache-2.0
// testing::explore: finds a planted ordering bug that fixed orders never hit, replays it from
// the reported seed, intercepts GoogleTest failures, and reports nothing on correct code.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "spindle/spindle.hpp"
#include "spindle/testing.hpp"

using namespace std::chrono_literals;
using spindle::testing::ExploreOptions;
using spindle::testing::ExploreResult;
using spindle::testing::Schedule;
using spindle::testing::SimOptions;
using spindle::testing::Simulation;

namespace {

// Four workers record the order in which they run. The planted bug fires only for the one
// order 3, 1, 4, 2 (1 in 24 random orders): FIFO runs 1, 2, 3, 4 and LIFO 4, 3, 2, 1, so
// neither ever sees it.
void planted_bug() {
  std::vector<int> order;
  auto worker = [&order](int id) { return [&order, id] { order.push_back(id); }; };
  std::vector<spindle::Task<void>> tasks;
  for (int id = 1; id <= 4; ++id) tasks.push_back(spindle::spawn(worker(id)));
  for (auto& t : tasks) t.join();
  if (order == std::vector<int>{3, 1, 4, 2}) {
    throw std::logic_error("lost update: the workers ran in the order 3, 1, 4, 2");
  }
}

TEST(Explore, ApiSnippet) {
  spindle::testing::ExploreResult res = spindle::testing::explore(
      spindle::testing::ExploreOptions{.runs = 1000, .print = false}, [] { planted_bug(); });
  bool found = res.failed;
  EXPECT_TRUE(found);
  EXPECT_NE(res.message.find("lost update"), std::string::npos) << res.message;
  EXPECT_GE(res.seed, 1u);
  EXPECT_LE(res.runs, 1000u);
}

TEST(Explore, FixedOrdersNeverFindThePlantedBug) {
  for (Schedule schedule : {Schedule::fifo, Schedule::lifo}) {
    ExploreResult res = spindle::testing::explore(
        ExploreOptions{.runs = 200, .schedule = schedule, .print = false}, [] { planted_bug(); });
    EXPECT_FALSE(res.failed) << to_string(schedule) << ": " << res.message;
    EXPECT_EQ(res.runs, 200u);
  }
}

TEST(Explore, PctFindsThePlantedBugToo) {
  ExploreResult res = spindle::testing::explore(
      ExploreOptions{.runs = 1000, .schedule = Schedule::pct, .pct_steps = 20, .print = false},
      [] { planted_bug(); });
  ASSERT_TRUE(res.failed);
  EXPECT_NE(res.replay.find("Schedule::pct"), std::string::npos) << res.replay;
  Simulation replay{res.options};
  EXPECT_THROW(replay.run([] { planted_bug(); }), std::logic_error);
}

TEST(Explore, ReportedSeedReplaysTheFailureExactly) {
  ExploreResult res = spindle::testing::explore(ExploreOptions{.runs = 1000, .print = false},
                                                [] { planted_bug(); });
  ASSERT_TRUE(res.failed);
  // The replay line a user pastes.
  EXPECT_NE(res.replay.find("SimOptions{.seed = " + std::to_string(res.seed)), std::string::npos)
      << res.replay;
  for (int i = 0; i < 3; ++i) {
    Simulation sim{SimOptions{.seed = res.seed, .trace = true}};
    EXPECT_THROW(sim.run([] { planted_bug(); }), std::logic_error);
  }
  // The seed before it passed (explore stops at the first failure).
  if (res.seed > 1) {
    Simulation sim{SimOptions{.seed = res.seed - 1}};
    EXPECT_NO_THROW(sim.run([] { planted_bug(); }));
  }
  // The trace of the failing run names the tasks.
  EXPECT_NE(res.trace.find("task 5 spawn"), std::string::npos) << res.trace;
}

TEST(Explore, GoogleTestFailuresInsideTheBodyAreCaughtAndReported) {
  ExploreResult res = spindle::testing::explore(ExploreOptions{.runs = 500, .print = false}, [] {
    int x = 0;
    auto writer = spindle::spawn([&x] { x = 1; });
    auto reader = spindle::spawn([&x] { EXPECT_EQ(x, 1) << "reader ran before writer"; });
    writer.join();
    reader.join();
  });
  ASSERT_TRUE(res.failed);
  EXPECT_NE(res.message.find("GoogleTest failure"), std::string::npos) << res.message;
  EXPECT_NE(res.message.find("reader ran before writer"), std::string::npos) << res.message;
  EXPECT_FALSE(::testing::Test::HasFailure()) << "the intercepted failure leaked into this test";
}

TEST(Explore, FindsADeadlockThatNeedsOneOrdering) {
  // A lock-order inversion guarded by a flag: it deadlocks only when both tasks take their
  // first mutex before either takes its second.
  ExploreResult res = spindle::testing::explore(ExploreOptions{.runs = 1000, .print = false}, [] {
    spindle::Mutex m1, m2;
    auto t1 = spindle::spawn([&] {
      std::lock_guard a(m1);
      spindle::yield();
      std::lock_guard b(m2);
    });
    auto t2 = spindle::spawn([&] {
      std::lock_guard a(m2);
      spindle::yield();
      std::lock_guard b(m1);
    });
    t1.join();
    t2.join();
  });
  ASSERT_TRUE(res.failed);
  EXPECT_NE(res.message.find("deadlock"), std::string::npos) << res.message;
  EXPECT_NE(res.message.find("mutex"), std::string::npos) << res.message;
}

TEST(Explore, ReportsTasksLeftBehind) {
  ExploreResult res = spindle::testing::explore(ExploreOptions{.runs = 10, .print = false}, [] {
    spindle::Chan<int> ch;
    spindle::spawn([ch] { (void)ch.recv(); }).detach();
  });
  ASSERT_TRUE(res.failed);
  EXPECT_EQ(res.runs, 1u);
  EXPECT_NE(res.message.find("left behind"), std::string::npos) << res.message;
  EXPECT_NE(res.message.find("chan recv"), std::string::npos) << res.message;
}

TEST(Explore, NoFalseReportsOnCorrectCode) {
  std::atomic<int> runs{0};
  ExploreResult res = spindle::testing::explore(ExploreOptions{.runs = 200, .print = false}, [&] {
    ++runs;
    spindle::Mutex mu;
    spindle::WaitGroup wg;
    int counter = 0;
    spindle::Chan<int> in, out(3);
    spindle::Context ctx = spindle::with_timeout(spindle::background(), 1h).ctx;
    for (int w = 0; w < 3; ++w) {
      wg.add(1);
      spindle::spawn([&] {
        for (auto v : in) {
          std::lock_guard lock(mu);
          counter += v;
          out.send(v * 2);
        }
        wg.done();
      }).detach();
    }
    auto producer = spindle::spawn([&] {
      for (int i = 1; i <= 9; ++i) {
        spindle::select(spindle::on_send(in, i), spindle::on_recv(ctx.done()));
        if (i % 3 == 0) spindle::sleep_for(1min);
      }
      in.close();
    });
    int sum = 0;
    for (int i = 0; i < 9; ++i) sum += *out.recv();
    producer.join();
    wg.wait();
    EXPECT_EQ(sum, 90);
    EXPECT_EQ(counter, 45);
    EXPECT_FALSE(ctx.err());
  });
  EXPECT_FALSE(res.failed) << res.message << "\n" << res.trace;
  EXPECT_EQ(runs.load(), 200);
}

TEST(Explore, BadOptionsThrow) {
  EXPECT_THROW(spindle::testing::explore(ExploreOptions{.runs = 0}, [] {}), std::invalid_argument);
  EXPECT_THROW(spindle::testing::explore(ExploreOptions{.pct_depth = 0}, [] {}),
               std::invalid_argument);
}

}  // namespace
