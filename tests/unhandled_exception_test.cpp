// SPDX-License-Identifier: Apache-2.0
// Exceptions escaping detached tasks reach spindle::set_unhandled_exception_handler's handler
// (spindle/unhandled.hpp), once each, whichever of detach() and the failure comes first.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "spindle/spindle.hpp"

namespace {

using namespace std::chrono_literals;

struct Seen {
  std::mutex mu;
  std::vector<spindle::UnhandledException> all;
};

class UnhandledException : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ =
        spindle::set_unhandled_exception_handler([this](const spindle::UnhandledException& e) {
          std::lock_guard lock(seen_.mu);
          seen_.all.push_back(e);
        });
  }
  void TearDown() override { spindle::set_unhandled_exception_handler(previous_); }

  std::vector<spindle::UnhandledException> seen() {
    std::lock_guard lock(seen_.mu);
    return seen_.all;
  }
  std::size_t count() {
    std::lock_guard lock(seen_.mu);
    return seen_.all.size();
  }
  // Waits (at most 30 s) for n reports; counts without copying them, so the handler is
  // never held up behind the waiter.
  std::vector<spindle::UnhandledException> wait_for(std::size_t n) {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (count() < n && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(1ms);
    }
    return seen();
  }

  Seen seen_;
  spindle::UnhandledExceptionHandler previous_;
};

TEST_F(UnhandledException, DetachedTaskThatThrowsReachesTheHandler) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::uint64_t id = 0;
  rt.block_on([&] {
    spindle::Task<void> t = spindle::spawn(spindle::TaskName{"thrower"}, [] {
      spindle::sleep_for(5ms);  // detached before it throws
      throw std::runtime_error("boom");
    });
    id = t.id();
    t.detach();
  });
  const auto got = wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_STREQ(got[0].what(), "boom");
  EXPECT_EQ(got[0].task.id, id);
  EXPECT_EQ(got[0].task.name, "thrower");
  EXPECT_NE(got[0].task.file.find("unhandled_exception_test.cpp"), std::string::npos);
  EXPECT_THROW(std::rethrow_exception(got[0].exception), std::runtime_error);
}

TEST_F(UnhandledException, TaskThatFailedBeforeDetachIsReportedByDetach) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([&] {
    spindle::Task<int> t = spindle::spawn([]() -> int { throw std::logic_error("early"); });
    while (!t.done()) spindle::yield();
    EXPECT_TRUE(seen().empty());  // not detached yet: join() could still rethrow it
    t.detach();
    EXPECT_EQ(seen().size(), 1u);
  });
  const auto got = seen();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_STREQ(got[0].what(), "early");
}

TEST_F(UnhandledException, JoinedTaskIsNotReported) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([&] {
    spindle::Task<void> t = spindle::spawn([] { throw std::runtime_error("joined"); });
    EXPECT_THROW(t.join(), std::runtime_error);
  });
  EXPECT_TRUE(seen().empty());
}

TEST_F(UnhandledException, WaitGroupSpawnReportsAndStillCountsDown) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([&] {
    spindle::WaitGroup wg;
    for (int i = 0; i < 10; ++i) {
      wg.spawn([i] {
        if (i % 2 == 0) throw std::runtime_error("wg " + std::to_string(i));
      });
    }
    wg.wait();
  });
  EXPECT_EQ(wait_for(5).size(), 5u);
}

TEST_F(UnhandledException, ManyRacesBetweenDetachAndFailureReportEachOnce) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  constexpr int kTasks = 2000;
  rt.block_on([&] {
    for (int i = 0; i < kTasks; ++i) {
      spindle::spawn([] { throw std::runtime_error("race"); }).detach();
    }
  });
  (void)wait_for(kTasks);
  std::this_thread::sleep_for(20ms);  // a duplicate would arrive by now
  EXPECT_EQ(count(), static_cast<std::size_t>(kTasks)) << rt.diagnostics();
}

TEST(UnhandledExceptionDeath, DefaultHandlerPrintsTheTaskAndTerminates) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        spindle::Runtime rt{spindle::Options{.workers = 1}};
        rt.block_on([] {
          spindle::spawn(spindle::TaskName{"doomed"}, [] {
            throw std::runtime_error("nobody catches this");
          }).detach();
          spindle::sleep_for(5s);
        });
      },
      "unhandled exception in detached task [0-9]+ \"doomed\", spawned at "
      ".*unhandled_exception_test.cpp:[0-9]+.*nobody catches this");
}

}  // namespace
