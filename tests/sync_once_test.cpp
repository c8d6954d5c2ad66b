// SPDX-License-Identifier: Apache-2.0
// spindle::Once: exactly one call, latecomers wait for it, exceptions count as done.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "spindle/once.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

TEST(SyncOnce, RunsTheFunctionExactlyOnceAndLatecomersSeeItsEffects) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  spindle::Once once;
  std::atomic<int> calls{0};
  int value = 0;  // written by the one call, read by everyone after call() returns
  std::vector<spindle::Task<int>> tasks;
  for (int i = 0; i < 8; ++i) {
    tasks.push_back(rt.spawn([&] {
      once.call([&] {
        calls.fetch_add(1);
        spindle::sleep_for(20ms);  // the others arrive meanwhile and must wait
        value = 42;
      });
      return value;
    }));
  }
  std::thread th([&] {  // a plain thread may win the race: it does the same initialisation
    once.call([&] {
      calls.fetch_add(1);
      std::this_thread::sleep_for(20ms);
      value = 42;
    });
  });
  for (auto& t : tasks) EXPECT_EQ(t.join(), 42);
  th.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(once.done());
}

TEST(SyncOnce, AThrowingFunctionCountsAsDoneLikeGo) {
  spindle::Once once;
  EXPECT_FALSE(once.done());
  EXPECT_THROW(once.call([] { throw std::runtime_error("init failed"); }), std::runtime_error);
  EXPECT_TRUE(once.done());
  bool called = false;
  once.call([&] { called = true; });
  EXPECT_FALSE(called);
}

}  // namespace
