// SPDX-License-Identifier: Apache-2.0
// Running out of stacks loses no task: spawn throws, join() rethrows, and a detached task that
// could not start goes to the unhandled exception handler; its callable (and what it holds)
// is destroyed either way.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/stack.hpp"
#include "spindle/spindle.hpp"

namespace {

using namespace std::chrono_literals;

// Counts its own destruction: what a task's callable holds must not leak when it never runs.
struct Held {
  std::atomic<int>* destroyed;
  explicit Held(std::atomic<int>& d) : destroyed(&d) {}
  Held(Held&& o) noexcept : destroyed(std::exchange(o.destroyed, nullptr)) {}
  ~Held() {
    if (destroyed != nullptr) ++*destroyed;
  }
};

class StackExhaustion : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ =
        spindle::set_unhandled_exception_handler([this](const spindle::UnhandledException& e) {
          std::lock_guard lock(mu_);
          ++reported_;
          last_message_ = e.what();
        });
  }
  void TearDown() override {
    spindle::detail::fail_stack_maps_for_testing(-1);
    spindle::set_unhandled_exception_handler(std::move(previous_));
  }
  int reported() {
    std::lock_guard lock(mu_);
    return reported_;
  }

  std::mutex mu_;
  int reported_ = 0;
  std::string last_message_;
  spindle::UnhandledExceptionHandler previous_;
};

TEST_F(StackExhaustion, EverySpawnIsAccountedFor) {
  constexpr int kTasks = 300;
  std::atomic<int> ran{0}, finished{0}, destroyed{0};
  int threw = 0;
  {
    spindle::Runtime rt{spindle::Options{.workers = 2}};
    spindle::detail::fail_stack_maps_for_testing(40);
    rt.block_on([&] {
      // Every task that starts waits for the gate, holding its stack: at most the stacks
      // that exist plus the 40 left to map can start.
      spindle::Chan<int> gate;
      for (int i = 0; i < kTasks; ++i) {
        try {
          spindle::spawn([&ran, &finished, gate, h = Held(destroyed)] {
            ++ran;
            (void)gate.recv();
            ++finished;
          }).detach();
        } catch (const std::system_error& e) {
          ++threw;
          EXPECT_NE(std::string(e.what()).find("stack"), std::string::npos) << e.what();
        }
      }
      // Let every task start (and park at the gate) or fail before opening it.
      const auto give_up = std::chrono::steady_clock::now() + 10s;
      while (ran.load() + threw + reported() < kTasks &&
             std::chrono::steady_clock::now() < give_up) {
        spindle::sleep_for(1ms);
      }
      gate.close();
    });
    // The runtime stays usable once stacks can be had again.
    spindle::detail::fail_stack_maps_for_testing(-1);
    EXPECT_EQ(rt.block_on([] { return spindle::spawn([] { return 3; }).join(); }), 3);
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (finished.load() + threw + reported() < kTasks &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(1ms);
    }
  }
  EXPECT_EQ(ran.load(), finished.load());
  EXPECT_EQ(ran.load() + threw + reported(), kTasks);
  EXPECT_GT(threw + reported(), 0);
  // Every callable was destroyed: by its task, by the failed task's record, or by the spawn.
  EXPECT_EQ(destroyed.load(), kTasks);
}

TEST_F(StackExhaustion, JoinRethrowsWhenTheTaskCouldNotStart) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([&] {
    // One stack in reserve (a spawn keeps one ready), then no more: every spawn passes its
    // check against that reserve, and all but the first to run need a new stack.
    spindle::spawn([] { return 0; }).join();
    spindle::detail::fail_stack_maps_for_testing(0);
    std::vector<spindle::Task<int>> tasks;
    int threw = 0;
    for (int i = 0; i < 200; ++i) {
      try {
        tasks.push_back(spindle::spawn([] {
          spindle::sleep_for(5ms);
          return 1;
        }));
      } catch (const std::system_error&) {
        ++threw;
      }
    }
    int ok = 0, failed = 0;
    for (auto& t : tasks) {
      try {
        ok += t.join();
      } catch (const std::system_error& e) {
        ++failed;
        EXPECT_NE(std::string(e.what()).find("stack"), std::string::npos) << e.what();
      }
    }
    spindle::detail::fail_stack_maps_for_testing(-1);
    EXPECT_EQ(ok + failed + threw, 200);
    EXPECT_GT(failed, 0);
  });
  EXPECT_EQ(reported(), 0);  // joined tasks are never "unhandled"
}

}  // namespace
