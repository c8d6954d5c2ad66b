// SPDX-License-Identifier: Apache-2.0
// Partial deadlocks: sets of tasks proven blocked for good while others still run, and no
// report where something could still wake a task.
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

spindle::Options quiet() {
  return spindle::Options{.workers = 2,
                          .on_leak = spindle::LeakPolicy::ignore,
                          .deadlock_after = 0ms,
                          .leak_check_wait = 0ms};
}

// Polls until `n` sets are reported (or 5 s pass).
std::vector<spindle::PartialDeadlock> wait_for_sets(const spindle::Runtime& rt, std::size_t n) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    auto sets = rt.partial_deadlocks();
    if (sets.size() >= n || std::chrono::steady_clock::now() > until) return sets;
    std::this_thread::sleep_for(2ms);
  }
}

// Waits until `n` tasks of rt are parked (not running or runnable).
void wait_parked(const spindle::Runtime& rt, std::size_t n) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until) {
    std::size_t parked = 0;
    for (const auto& t : rt.tasks()) parked += (t.state != "running" && t.state != "runnable");
    if (parked >= n) return;
    std::this_thread::sleep_for(1ms);
  }
}

TEST(PartialDeadlock, NilChannelReceiveIsBlockedForGood) {
  spindle::Runtime rt{quiet()};
  rt.spawn([] { spindle::Chan<int>(nullptr).recv(); }).detach();
  auto sets = wait_for_sets(rt, 1);
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_NE(sets[0].reason.find("nil channel"), std::string::npos);
  ASSERT_EQ(sets[0].tasks.size(), 1u);
  EXPECT_EQ(sets[0].tasks[0].state, "chan recv");
}

TEST(PartialDeadlock, SelectWithOnlyNilCasesIsBlockedForGood) {
  spindle::Runtime rt{quiet()};
  rt.spawn([] {
      spindle::RecvChan<int> off;
      spindle::select(spindle::on_recv(off));
    }).detach();
  auto sets = wait_for_sets(rt, 1);
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].tasks[0].state, "select");
}

TEST(PartialDeadlock, JoinCycleAndItsJoinersAreReportedWhileOthersRun) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<spindle::Task<void>> to_a(1), to_b(1);
  auto a = rt.spawn([to_a]() mutable { to_a.recv()->join(); });
  auto b = rt.spawn([to_b]() mutable { to_b.recv()->join(); });
  const std::uint64_t a_id = a.id(), b_id = b.id();
  to_a.send(std::move(b));  // a joins b
  to_b.send(std::move(a));  // b joins a
  std::atomic<bool> stop{false};
  auto busy = rt.spawn([&] {
    while (!stop.load()) spindle::yield();  // keeps running: the runtime is not all asleep
  });
  auto sets = wait_for_sets(rt, 1);
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].reason, "join cycle");
  ASSERT_EQ(sets[0].tasks.size(), 2u);
  EXPECT_EQ(sets[0].tasks[0].id, a_id);
  EXPECT_EQ(sets[0].tasks[1].id, b_id);
  EXPECT_EQ(sets[0].tasks[0].blocked_on_task, b_id);
  EXPECT_NE(sets[0].to_string().find("deadlocked (join cycle)"), std::string::npos);
  std::ostringstream dump;
  rt.dump(dump);
  EXPECT_NE(dump.str().find("partial deadlocks:"), std::string::npos) << dump.str();
  stop = true;
  busy.join();
}

TEST(PartialDeadlock, JoinerOfADeadlockedTaskIsIncluded) {
  spindle::Runtime rt{quiet()};
  auto stuck = rt.spawn([] { spindle::Chan<int>(nullptr).recv(); });
  const std::uint64_t stuck_id = stuck.id();
  spindle::Chan<spindle::Task<void>> hand(1);
  auto joiner = rt.spawn([hand]() mutable { hand.recv()->join(); });
  hand.send(std::move(stuck));
  auto sets = wait_for_sets(rt, 1);
  for (int i = 0; i < 500 && (sets.empty() || sets[0].tasks.size() < 2); ++i) {
    std::this_thread::sleep_for(2ms);
    sets = rt.partial_deadlocks();
  }
  ASSERT_EQ(sets.size(), 1u);
  ASSERT_EQ(sets[0].tasks.size(), 2u);
  EXPECT_EQ(sets[0].tasks[0].id, stuck_id);
  EXPECT_NE(sets[0].reason.find("joined by"), std::string::npos) << sets[0].reason;
  joiner.detach();
}

TEST(PartialDeadlock, NoReportForAChannelSomeoneElseCanStillReach) {
  // The only handle lives on this thread's stack and the task holds a reference: reference
  // counts would say "only the blocked task"; the proof must not.
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> ch;
  auto t = rt.spawn([&ch] { return *ch.recv(); });
  wait_parked(rt, 1);
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(rt.partial_deadlocks().empty());
  ch.send(7);
  EXPECT_EQ(t.join(), 7);
}

TEST(PartialDeadlock, NoReportForJoinsOnTasksThatCanStillFinish) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> ch;
  auto sleeper = rt.spawn([] { spindle::sleep_for(100ms); });
  auto waiter = rt.spawn([ch]() mutable { (void)ch.recv(); });
  spindle::Chan<spindle::Task<void>> hand(2);
  auto j1 = rt.spawn([hand]() mutable { hand.recv()->join(); });
  auto j2 = rt.spawn([hand]() mutable { hand.recv()->join(); });
  hand.send(std::move(sleeper));
  hand.send(std::move(waiter));
  wait_parked(rt, 4);
  EXPECT_TRUE(rt.partial_deadlocks().empty());
  ch.close();
  j1.join();
  j2.join();
}

}  // namespace
