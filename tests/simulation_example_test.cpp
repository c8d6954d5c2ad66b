// SPDX-License-Identifier: Apache-2.0
// The examples of the README's "Deterministic simulation" section, kept compiling and passing:
// a timeout-heavy pipeline tested in virtual time, and a race found by explore and replayed.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "spindle/spindle.hpp"
#include "spindle/testing.hpp"

using namespace std::chrono_literals;

namespace {

// A sensor that reports every 90 s until its one-hour (and a half-minute) deadline, and a
// stage that groups readings into batches of up to 10 or whatever arrived within 5 minutes.
// Real time: over an hour. Virtual time: a few milliseconds of wall time, and the same
// result on every run.
TEST(SimulationExample, TimeoutHeavyPipelineInVirtualTime) {
  spindle::testing::Simulation sim{spindle::testing::SimOptions{.seed = 7}};
  const auto wall = std::chrono::steady_clock::now();
  std::vector<std::size_t> sizes = sim.run([] {
    spindle::Context ctx = spindle::with_timeout(spindle::background(), 1h + 30s).ctx;
    spindle::Chan<int> readings;
    auto sensor = spindle::spawn([readings, ctx] {
      for (int i = 0;; ++i) {
        spindle::sleep_for(90s);
        if (ctx.err()) break;
        readings.send(i);
      }
      readings.close();
    });
    std::vector<std::size_t> out;
    auto batches = spindle::batch(spindle::background(), readings, 10, 5min);
    for (const std::vector<int>& b : batches) out.push_back(b.size());
    sensor.join();
    return out;
  });
  // 40 readings (90 s .. 3600 s); a batch opens with a reading and closes 5 minutes later,
  // so each holds the 4 readings of its window.
  EXPECT_EQ(sizes, std::vector<std::size_t>(10, 4));
  EXPECT_EQ(sim.elapsed(), 1h + 1min + 30s);  // the sensor's last sleep ends at 3690 s
  EXPECT_LT(std::chrono::steady_clock::now() - wall, 10s);
}

// A check-then-act race: two tasks withdraw from one account, each checking the balance and
// then, after a pause (a yield stands for any blocking call), subtracting. Only an interleaving
// where both check before either subtracts overdraws it.
void withdraw_twice() {
  int balance = 100;
  auto withdraw = [&balance](int amount) {
    return [&balance, amount] {
      if (balance >= amount) {
        spindle::yield();
        balance -= amount;
      }
    };
  };
  auto a = spindle::spawn(withdraw(80));
  auto b = spindle::spawn(withdraw(80));
  a.join();
  b.join();
  EXPECT_GE(balance, 0) << "overdrawn";
}

TEST(SimulationExample, RaceFoundByExploreAndReplayed) {
  spindle::testing::ExploreResult res = spindle::testing::explore(
      spindle::testing::ExploreOptions{.runs = 1000, .print = false}, withdraw_twice);
  ASSERT_TRUE(res.failed);
  EXPECT_NE(res.message.find("overdrawn"), std::string::npos) << res.message;

  // Replay: what res.replay says to paste into a test. The run is identical every time, so a
  // debugger or extra logging sees the very same interleaving.
  for (int i = 0; i < 2; ++i) {
    ::testing::TestPartResultArray failures;
    {
      ::testing::ScopedFakeTestPartResultReporter intercept(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
      spindle::testing::Simulation sim{
          spindle::testing::SimOptions{.seed = res.seed, .trace = true}};
      sim.run(withdraw_twice);
      // Event for event the same run (the first line names the root's spawn site: the
      // explore() call there, this run() call here).
      auto body = [](const std::string& t) { return t.substr(t.find('\n')); };
      EXPECT_EQ(body(sim.trace_text()), body(res.trace));
    }
    // Exactly the one failure explore reported; the trace comparison passed.
    ASSERT_EQ(failures.size(), 1);
    EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find("overdrawn"),
              std::string::npos);
  }
}

}  // namespace
