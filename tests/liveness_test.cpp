// SPDX-License-Identifier: Apache-2.0
// Liveness under load (runtime/monitor.hpp): timers fire and stuck workers hand their tasks
// off while every worker is busy. Each test bounds its load in time: a runtime without the
// behaviour leaves the checked task waiting until the load ends, and the check fails.
#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "runtime/monitor.hpp"
#include "spindle/spindle.hpp"

namespace {

using namespace std::chrono_literals;

// Long enough that a runtime that serves timers only when idle fails (it wakes the sleeper
// about once per load episode), short enough for a suite on a loaded machine.
constexpr auto kLoadLimit = 8s;

// Spins for `d` without returning to the scheduler.
void compute_for(std::chrono::nanoseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// A task that computes in 20 us slices and yields between them, until `stop`.
void yielding_load(std::atomic<bool>& stop) {
  const auto give_up = std::chrono::steady_clock::now() + kLoadLimit;
  while (!stop.load() && std::chrono::steady_clock::now() < give_up) {
    compute_for(20us);
    spindle::yield();
  }
}

// A pair passing a message back and forth until `stop`.
void ping_pong_pair(std::atomic<bool>& stop, spindle::WaitGroup& wg) {
  spindle::Chan<int> ping, pong;
  wg.spawn([ping, pong, &stop]() mutable {
    const auto give_up = std::chrono::steady_clock::now() + kLoadLimit;
    while (!stop.load() && std::chrono::steady_clock::now() < give_up) {
      ping.send(1);
      (void)pong.recv();
    }
    ping.close();
  });
  wg.spawn([ping, pong]() mutable {
    while (ping.recv()) pong.send(1);
  });
}

// The CPUs this process may run on (its affinity mask), as the monitor counts them; 0 if
// the mask cannot be read.
std::size_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  return static_cast<std::size_t>(CPU_COUNT(&set));
}

int count_sleeps(int n, std::chrono::milliseconds each) {
  int woke = 0;
  for (int i = 0; i < n; ++i) {
    spindle::sleep_for(each);
    ++woke;
  }
  return woke;
}

TEST(Liveness, SleeperWakesBesideAYieldingLoadOnOneWorker) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  std::atomic<bool> stop{false};
  const auto elapsed = rt.block_on([&] {
    spindle::WaitGroup wg;
    wg.spawn([&] { yielding_load(stop); });
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(count_sleeps(100, 1ms), 100);
    const auto took = std::chrono::steady_clock::now() - start;
    stop = true;
    wg.wait();
    return took;
  });
  // Without timer checks at each switch the sleeper waits for the load to end.
  EXPECT_LT(elapsed, kLoadLimit / 2);
}

TEST(Liveness, AfterAndDeadlinesFireBesidePingPongPairs) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::atomic<bool> stop{false};
  const auto elapsed = rt.block_on([&] {
    spindle::WaitGroup wg;
    ping_pong_pair(stop, wg);
    ping_pong_pair(stop, wg);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(count_sleeps(50, 1ms), 50);
    for (int i = 0; i < 50; ++i) EXPECT_TRUE(spindle::after(1ms).recv().has_value());
    for (int i = 0; i < 50; ++i) {
      auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 1ms);
      EXPECT_FALSE(ctx.done().recv().has_value());
      EXPECT_EQ(ctx.err(), spindle::errc::deadline_exceeded);
    }
    const auto took = std::chrono::steady_clock::now() - start;
    stop = true;
    wg.wait();
    return took;
  });
  EXPECT_LT(elapsed, kLoadLimit / 2);
}

TEST(Liveness, ComputingTaskOnTheOnlyWorkerDoesNotStallTheOthers) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  std::atomic<bool> release{false};
  std::atomic<bool> gave_up{false};
  std::atomic<bool> stop{false};
  rt.block_on([&] {
    spindle::WaitGroup wg;
    ping_pong_pair(stop, wg);
    // Never returns to the scheduler until the others made progress (or the limit).
    wg.spawn([&] {
      const auto give_up = std::chrono::steady_clock::now() + kLoadLimit;
      while (!release.load()) {
        if (std::chrono::steady_clock::now() >= give_up) {
          gave_up = true;
          break;
        }
      }
    });
    spindle::Task<int> sleeper = spindle::spawn([] { return count_sleeps(20, 1ms); });
    // The root task itself was queued behind the computing task: it got here only through a
    // hand-off, and so do the sleeper and the pair.
    const int woke = sleeper.join();
    EXPECT_FALSE(gave_up.load());
    EXPECT_EQ(woke, 20);
    release = true;
    stop = true;
    wg.wait();
  });
  const std::string d = rt.diagnostics();
  EXPECT_NE(d.find(" handoffs="), std::string::npos) << d;
  EXPECT_EQ(d.find(" handoffs=0 "), std::string::npos) << d;
  EXPECT_EQ(d.find(" spares_started=0 "), std::string::npos) << d;
}

TEST(Liveness, SparesStandInForBlockedThreadsAndForComputingOnesOnlyOnASpareCpu) {
  using spindle::detail::spares_wanted;
  // (roles, free threads, stuck blocked, stuck computing, CPUs)
  EXPECT_EQ(spares_wanted(2, 2, 0, 0, 2), 0u);  // nobody stuck
  EXPECT_EQ(spares_wanted(2, 0, 2, 0, 2), 2u);  // both in system calls
  EXPECT_EQ(spares_wanted(2, 0, 2, 0, 1), 2u);  // blocked threads use no CPU, however few
  EXPECT_EQ(spares_wanted(2, 1, 0, 1, 2), 0u);  // one computes, one is free: CPUs all busy
  EXPECT_EQ(spares_wanted(2, 1, 0, 1, 4), 1u);  // ... unless a CPU is left
  EXPECT_EQ(spares_wanted(1, 0, 0, 1, 1), 1u);  // nobody free: one spare, whatever the CPUs
  EXPECT_EQ(spares_wanted(2, 0, 0, 2, 2), 1u);
  EXPECT_EQ(spares_wanted(2, 0, 0, 2, 8), 2u);
  EXPECT_EQ(spares_wanted(4, 1, 1, 2, 4), 1u);  // the blocked one's; no CPU for the others
  EXPECT_EQ(spares_wanted(4, 1, 1, 2, 5), 2u);
}

// As many workers as CPUs, one of them inside a long computation: the others are free and
// every CPU has a thread to run, so no spare starts (it could only take turns with them);
// the computing worker's queued tasks still move to the free ones.
TEST(Liveness, NoSpareBesideAComputingTaskWhenTheOtherWorkersKeepEveryCpu) {
  const std::size_t cpus = usable_cpus();
  ASSERT_GT(cpus, 0u);
  if (cpus < 2) GTEST_SKIP() << "one CPU: the computing worker leaves no other worker free";
  spindle::Runtime rt{spindle::Options{.workers = cpus}};
  rt.block_on([&] {
    spindle::Task<void> computing = spindle::spawn([] { compute_for(150ms); });
    const int woke = count_sleeps(20, 1ms);
    computing.join();
    EXPECT_EQ(woke, 20);
  });
  const std::string d = rt.diagnostics();
  EXPECT_NE(d.find(" spares_started=0 "), std::string::npos) << d;
}

// The same runtime with a task in a blocking system call instead: that thread uses no CPU,
// so its role gets a spare although the other workers are free.
TEST(Liveness, SpareStandsInForAThreadInABlockingCallEvenWhenOthersAreFree) {
  const std::size_t cpus = usable_cpus();
  ASSERT_GT(cpus, 0u);
  spindle::Runtime rt{spindle::Options{.workers = cpus}};
  rt.block_on([&] {
    spindle::Task<void> blocked =
        spindle::spawn([] { std::this_thread::sleep_for(150ms); });  // a plain system call
    EXPECT_EQ(count_sleeps(20, 1ms), 20);
    blocked.join();
  });
  const std::string d = rt.diagnostics();
  EXPECT_NE(d.find(" spares_started="), std::string::npos) << d;
  EXPECT_EQ(d.find(" spares_started=0 "), std::string::npos) << d;
}

TEST(Liveness, BlockingSystemCallsOnEveryWorkerDoNotStallTheOthers) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::atomic<int> blocked_done{0};
  std::atomic<bool> stop{false};
  rt.block_on([&] {
    spindle::WaitGroup wg;
    ping_pong_pair(stop, wg);
    for (int i = 0; i < 2; ++i) {
      wg.spawn([&] {
        std::this_thread::sleep_for(1500ms);  // a plain blocking system call
        ++blocked_done;
      });
    }
    spindle::yield();
    const int woke = count_sleeps(20, 1ms);
    // The sleeps ended while both blocking calls were still in progress.
    EXPECT_EQ(blocked_done.load(), 0);
    EXPECT_EQ(woke, 20);
    stop = true;
    wg.wait();
  });
}

TEST(Liveness, SparesRetireOnceTheStuckTaskReturns) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([&] {
    spindle::Task<void> blocker = spindle::spawn([] { std::this_thread::sleep_for(200ms); });
    spindle::sleep_for(100ms);  // served by a spare while the only worker blocks
    blocker.join();
  });
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  std::string d;
  while (std::chrono::steady_clock::now() < give_up) {
    d = rt.diagnostics();
    if (d.find("active_spares=0 ") != std::string::npos) break;
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_NE(d.find("active_spares=0 "), std::string::npos) << d;
  EXPECT_NE(d.find(" spares_started="), std::string::npos) << d;
  EXPECT_EQ(d.find(" spares_started=0 "), std::string::npos) << d;
  // The runtime still runs tasks on its own worker afterwards.
  EXPECT_EQ(rt.block_on([] { return 5; }), 5);
}

TEST(Liveness, StallReportNamesTheTaskAndWhereItRuns) {
  spindle::Runtime rt{spindle::Options{.workers = 1, .stall_report = 20ms}};
  ::testing::internal::CaptureStderr();
  rt.block_on([] {
    spindle::set_task_name("cruncher");
    compute_for(300ms);
  });
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("spindle: stall: task "), std::string::npos) << err;
  EXPECT_NE(err.find("\"cruncher\""), std::string::npos) << err;
  EXPECT_NE(err.find("liveness_test.cpp"), std::string::npos) << err;
  EXPECT_NE(err.find("has held worker 0 for "), std::string::npos) << err;
  EXPECT_NE(err.find("backtrace:\n  #0 "), std::string::npos) << err;
  // One episode, one line.
  EXPECT_EQ(err.find("spindle: stall:", err.find("spindle: stall:") + 1), std::string::npos) << err;
  EXPECT_NE(rt.diagnostics().find("stall_reports=1"), std::string::npos) << rt.diagnostics();
}

TEST(Liveness, NoStallReportWhenOff) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  ::testing::internal::CaptureStderr();
  rt.block_on([] { compute_for(100ms); });
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("spindle: stall:"), std::string::npos) << err;
}

TEST(Liveness, IdleRuntimeMonitorSleeps) {
  // The monitor sleeps with the workers (after lingering 20 ms): an idle runtime's monitor
  // makes no looks at all, where a monitor that kept ticking would make one every 10 ms.
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] { spindle::sleep_for(5ms); });
  const auto looks = [&rt] {
    const std::string d = rt.diagnostics();
    const auto at = d.find(" monitor_looks=");
    EXPECT_NE(at, std::string::npos) << d;
    return at == std::string::npos ? 0ull : std::stoull(d.substr(at + 15));
  };
  std::this_thread::sleep_for(200ms);
  const auto before = looks();
  EXPECT_GT(before, 0u);  // it did look while the runtime ran
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(looks(), before);
}

}  // namespace
