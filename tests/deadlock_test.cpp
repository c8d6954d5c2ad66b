// SPDX-License-Identifier: Apache-2.0
// Whole-runtime deadlock detection in block_on: reported when every task stays blocked with
// nothing that could wake it, never while a timer or an outside thread could.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "spindle/detail/waiter.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

spindle::Options fast_detection() {
  return spindle::Options{.workers = 2,
                          .on_leak = spindle::LeakPolicy::ignore,
                          .deadlock_after = 100ms,
                          .leak_check_wait = 0ms};
}

TEST(Deadlock, TwoTasksWaitingOnEachOtherAreReported) {
  spindle::Runtime rt{fast_detection()};
  try {
    rt.block_on([] {
      spindle::detail::Waiter never;
      auto other = spindle::spawn([] {
        spindle::detail::Waiter also_never;
        also_never.park();
      });
      never.park();
      other.join();
    });
    FAIL() << "expected spindle::Deadlock";
  } catch (const spindle::Deadlock& d) {
    std::string what = d.what();
    EXPECT_NE(what.find("deadlock"), std::string::npos);
    EXPECT_NE(what.find("deadlock_test.cpp"), std::string::npos) << what;
    EXPECT_EQ(d.tasks().size(), 2u) << what;
  }
}

TEST(Deadlock, ManyBlockedTasksAreAllListed) {
  spindle::Runtime rt{fast_detection()};
  try {
    rt.block_on([] {
      for (int i = 0; i < 10; ++i) {
        spindle::spawn([] {
          spindle::detail::Waiter w;
          w.park();
        }).detach();
      }
      spindle::detail::Waiter w;
      w.park();
    });
    FAIL() << "expected spindle::Deadlock";
  } catch (const spindle::Deadlock& d) {
    EXPECT_EQ(d.tasks().size(), 11u) << d.what();
  }
}

TEST(Deadlock, NoFalseReportWhileATimerIsPending) {
  spindle::Runtime rt{fast_detection()};
  // Blocked for 4x the detection window, but a timer will wake it.
  EXPECT_NO_THROW(rt.block_on([] { spindle::sleep_for(400ms); }));
}

TEST(Deadlock, NoFalseReportWhileAnOutsideThreadIsInASpindleCall) {
  spindle::Runtime rt{fast_detection()};
  std::atomic<spindle::detail::Waiter*> slot{nullptr};
  std::thread outside([&] {
    spindle::sleep_for(400ms);  // a plain thread in a spindle call: it may still wake a task
    spindle::detail::Waiter* w;
    while ((w = slot.load()) == nullptr) std::this_thread::yield();
    w->unpark();
  });
  EXPECT_NO_THROW(rt.block_on([&] {
    spindle::detail::Waiter w;
    slot.store(&w);
    w.park();
  }));
  outside.join();
}

TEST(Deadlock, ZeroTurnsTheCheckOff) {
  spindle::Options o = fast_detection();
  o.deadlock_after = 0ms;
  spindle::Runtime rt{o};
  std::atomic<spindle::detail::Waiter*> slot{nullptr};
  std::thread waker([&] {
    std::this_thread::sleep_for(300ms);  // not a spindle call: only "off" avoids a report
    spindle::detail::Waiter* w;
    while ((w = slot.load()) == nullptr) std::this_thread::yield();
    w->unpark();
  });
  EXPECT_NO_THROW(rt.block_on([&] {
    spindle::detail::Waiter w;
    slot.store(&w);
    w.park();
  }));
  waker.join();
}

}  // namespace
