// SPDX-License-Identifier: Apache-2.0
// Task diagnostics: names, parents, what a task is blocked on, Runtime::dump() and the
// SIGQUIT dump.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime/coarse_clock.hpp"
#include "runtime/stamp_clock.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

spindle::Options quiet() {
  return spindle::Options{
      .workers = 2, .on_leak = spindle::LeakPolicy::ignore, .leak_check_wait = 20ms};
}

// Polls rt.tasks() until `pred` holds for them (or fails the test after 5 s).
template <class Pred>
std::vector<spindle::TaskInfo> wait_for_tasks(const spindle::Runtime& rt, Pred pred) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    auto live = rt.tasks();
    if (pred(live) || std::chrono::steady_clock::now() > until) return live;
    std::this_thread::sleep_for(1ms);
  }
}

std::size_t count_in_state(const std::vector<spindle::TaskInfo>& live, const std::string& state) {
  std::size_t n = 0;
  for (const auto& t : live) n += t.state == state ? 1 : 0;
  return n;
}

const spindle::TaskInfo* find_task(const std::vector<spindle::TaskInfo>& live, std::uint64_t id) {
  for (const auto& t : live) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

TEST(TaskDiagnostics, NameGivenAtSpawnOrLaterShowsInTasksAndText) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> ch;
  auto named = rt.spawn(spindle::TaskName{"fetcher"}, [ch]() mutable { (void)ch.recv(); });
  auto renamed = rt.spawn([ch]() mutable {
    spindle::set_task_name("renamed");
    (void)ch.recv();
  });
  auto live = wait_for_tasks(rt, [](const auto& l) { return count_in_state(l, "chan recv") == 2; });
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(find_task(live, named.id())->name, "fetcher");
  EXPECT_EQ(find_task(live, renamed.id())->name, "renamed");
  EXPECT_NE(find_task(live, named.id())->to_string().find("\"fetcher\" [chan recv"),
            std::string::npos)
      << find_task(live, named.id())->to_string();
  ch.close();
  named.join();
  renamed.join();
}

TEST(TaskDiagnostics, SetTaskNameOutsideATaskThrows) {
  EXPECT_THROW(spindle::set_task_name("x"), std::logic_error);
  EXPECT_EQ(spindle::current_task_id(), 0u);
}

TEST(TaskDiagnostics, ParentIsTheSpawningTask) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> ch;
  std::uint64_t root_id = 0;
  auto root = rt.spawn([&, ch]() mutable {
    root_id = spindle::current_task_id();
    auto kid = spindle::spawn([ch]() mutable { (void)ch.recv(); });
    kid.join();
  });
  auto live = wait_for_tasks(rt, [](const auto& l) {
    return count_in_state(l, "chan recv") == 1 && count_in_state(l, "join") == 1;
  });
  ASSERT_EQ(live.size(), 2u);
  const spindle::TaskInfo& top = live[0].state == "join" ? live[0] : live[1];
  const spindle::TaskInfo& kid = live[0].state == "join" ? live[1] : live[0];
  EXPECT_EQ(top.parent_id, 0u);  // spawned from this plain thread
  EXPECT_EQ(kid.parent_id, top.id);
  EXPECT_EQ(top.blocked_on_task, kid.id);  // the join names the joined task
  EXPECT_NE(top.to_string().find("on task " + std::to_string(kid.id)), std::string::npos);
  EXPECT_NE(kid.to_string().find("by task " + std::to_string(top.id)), std::string::npos);
  ch.close();
  root.join();
  EXPECT_EQ(root_id, top.id);
}

TEST(TaskDiagnostics, BlockedOnIdentifiesTheObjectAndTimeInState) {
  const auto started = std::chrono::steady_clock::now();
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> a, b;
  auto t1 = rt.spawn([a]() mutable { (void)a.recv(); });
  auto t2 = rt.spawn([a]() mutable { a.send(1); });
  auto t3 = rt.spawn([b]() mutable { (void)b.recv(); });
  // t1 and t2 meet; t3 stays blocked on b, and one more receiver blocks on a.
  t1.join();
  t2.join();
  auto t4 = rt.spawn([a]() mutable { (void)a.recv(); });
  wait_for_tasks(rt, [](const auto& l) { return count_in_state(l, "chan recv") == 2; });
  std::this_thread::sleep_for(20ms);
  auto live = rt.tasks();
  const auto read_by = std::chrono::steady_clock::now();
  ASSERT_EQ(live.size(), 2u);
  EXPECT_NE(live[0].blocked_on, 0u);
  EXPECT_NE(live[1].blocked_on, 0u);
  EXPECT_NE(live[0].blocked_on, live[1].blocked_on);  // different channels
  // Both were parked before the sleep and still are: each has waited 20 ms or more (less a
  // margin for the stamp clock's measured scale)...
  for (const auto& t : live) {
    EXPECT_GE(t.in_state, 19ms) << t.state;
    EXPECT_LE(t.in_state, t.age);
  }
  // ...and neither was spawned before the test began.
  for (const auto& t : live) EXPECT_LE(t.age, read_by - started);
  a.close();
  b.close();
  t3.join();
  t4.join();
}

// The real time since `stamp` (a stamp_now() reading), read now: after whatever it is
// compared with was read.
std::chrono::nanoseconds real_time_since(std::uint64_t stamp) {
  return std::chrono::nanoseconds(spindle::detail::read_stamp_clock().ns_since(stamp));
}

void compute_for(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// The time in state of a park is read from a clock that ticks about every millisecond
// (runtime/coarse_clock.hpp). It must count from the park, not from some earlier tick: not
// from before a long stretch of computing without a switch, and not from before an idle
// spell of the whole runtime.
// A task that computes for `compute`, then parks on a channel: its time in state as a dump
// reads it, against the real time since just before the park (read after the dump).
struct ParkAfterComputing {
  spindle::TaskInfo info;
  std::chrono::nanoseconds since_park;
};

ParkAfterComputing park_after_computing(spindle::Runtime& rt, std::chrono::milliseconds compute) {
  spindle::Chan<int> ch;
  std::atomic<std::uint64_t> before_park{0};
  auto t = rt.spawn([ch, &before_park, compute]() mutable {
    compute_for(compute);
    // release: pairs with the acquire load below.
    before_park.store(spindle::detail::stamp_now(), std::memory_order_release);
    (void)ch.recv();
  });
  auto live = wait_for_tasks(rt, [](const auto& l) { return count_in_state(l, "chan recv") == 1; });
  const auto since_park = real_time_since(before_park.load(std::memory_order_acquire));
  ch.close();
  t.join();
  EXPECT_EQ(live.size(), 1u);
  return {live.empty() ? spindle::TaskInfo{} : live[0], since_park};
}

TEST(TaskDiagnostics, TimeInStateStartsAtThePark) {
  spindle::Runtime rt{spindle::Options{
      .workers = 1, .on_leak = spindle::LeakPolicy::ignore, .leak_check_wait = 20ms}};
  // Idle for a while first (the clock's ticker may stop), then compute for 80 ms, then park.
  std::this_thread::sleep_for(80ms);
  const auto parked = park_after_computing(rt, 80ms);
  // However late this thread sees the park, the time in state is measured from the park,
  // give or take the coarse clock's millisecond: not from the spawn, 80 ms earlier.
  EXPECT_LT(parked.info.in_state, parked.since_park + 10ms);
  EXPECT_GE(parked.info.age, 80ms);
}

std::atomic<bool> g_starve_clock{false};

void starved_refresh() {
  while (g_starve_clock.load()) std::this_thread::sleep_for(1ms);
}

// The coarse clock's ticker (and the monitor, which refreshes it too) get no CPU, as on a
// loaded machine: a task that computed for a while still records its park at the park.
TEST(TaskDiagnostics, TimeInStateStartsAtTheParkWhenTheClockTickerIsStarved) {
  spindle::Runtime rt{spindle::Options{
      .workers = 1, .on_leak = spindle::LeakPolicy::ignore, .leak_check_wait = 20ms}};
  g_starve_clock = true;
  spindle::detail::g_background_refresh_hook.store(&starved_refresh);
  struct Unstarve {
    ~Unstarve() {
      g_starve_clock = false;
      spindle::detail::g_background_refresh_hook.store(nullptr);
    }
  } unstarve;
  const auto parked = park_after_computing(rt, 60ms);
  EXPECT_LT(parked.info.in_state, parked.since_park + 10ms);
}

TEST(TaskDiagnostics, DumpListsEveryTaskWithStateSiteAndAge) {
  spindle::Runtime rt{quiet()};
  spindle::Chan<int> ch;
  auto t = rt.spawn(spindle::TaskName{"dumped"}, [ch]() mutable { (void)ch.recv(); });
  const int line = __LINE__ - 1;
  wait_for_tasks(rt, [](const auto& l) { return count_in_state(l, "chan recv") == 1; });
  std::ostringstream out;
  rt.dump(out);
  const std::string text = out.str();
  EXPECT_NE(text.find("1 live task(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("\"dumped\" [chan recv"), std::string::npos) << text;
  EXPECT_NE(text.find("task_diagnostics_test.cpp:" + std::to_string(line)), std::string::npos)
      << text;
  EXPECT_NE(text.find("age "), std::string::npos) << text;
  ch.close();
  t.join();
}

TEST(TaskDiagnosticsDeathTest, SigquitDumpsEveryTaskAndExitsWithStatus2) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("SPINDLE_DUMP_ON_SIGQUIT", "1", 1);
        spindle::Runtime rt{quiet()};
        rt.spawn(spindle::TaskName{"sigquit-victim"}, [] {
            spindle::Chan<int>(nullptr).recv();
          }).detach();
        wait_for_tasks(rt, [](const auto& l) { return count_in_state(l, "chan recv") == 1; });
        std::raise(SIGQUIT);
        std::this_thread::sleep_for(10s);  // the dump thread ends the process first
        std::exit(0);
      },
      ::testing::ExitedWithCode(2), "task [0-9]+ \"sigquit-victim\" \\[chan recv");
}

TEST(TaskDiagnostics, SigquitIsLeftAloneWithoutTheEnvironmentVariable) {
  // Runtimes made in this process without SPINDLE_DUMP_ON_SIGQUIT=1 install no handler.
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGQUIT, nullptr, &old), 0);
  if (std::getenv("SPINDLE_DUMP_ON_SIGQUIT") == nullptr) {
    spindle::Runtime rt{quiet()};
    struct sigaction now {};
    ASSERT_EQ(::sigaction(SIGQUIT, nullptr, &now), 0);
    EXPECT_EQ(now.sa_handler, old.sa_handler);
  }
}

}  // namespace
