// SPDX-License-Identifier: Apache-2.0
// spindle::blocking and spindle::fs: the call runs off the worker, results and exceptions
// come back, plain threads just call, and file errors name the call and the path.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

TEST(Blocking, RunsOffTheWorkerAndReturnsTheResult) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    std::atomic<int> ticks{0};
    auto ticker = spindle::spawn([&] {
      for (int i = 0; i < 10; ++i) {
        spindle::sleep_for(2ms);
        ++ticks;
      }
    });
    const auto caller = std::this_thread::get_id();
    std::thread::id ran_on;
    int v = spindle::blocking([&] {
      ran_on = std::this_thread::get_id();
      std::this_thread::sleep_for(100ms);  // holds a pool thread, not the only worker
      return 42;
    });
    EXPECT_EQ(v, 42);
    EXPECT_NE(ran_on, caller);
    EXPECT_GE(ticks.load(), 5);  // the ticker ran meanwhile on the single worker
    ticker.join();
  });
}

TEST(Blocking, RethrowsAndSupportsVoidAndMoveOnly) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    EXPECT_THROW(spindle::blocking([]() -> int { throw std::runtime_error("boom"); }),
                 std::runtime_error);
    bool ran = false;
    spindle::blocking([&] { ran = true; });
    EXPECT_TRUE(ran);
    auto p = spindle::blocking([] { return std::make_unique<int>(7); });
    EXPECT_EQ(*p, 7);
  });
}

TEST(Blocking, ManyAtOnceGrowThePool) {
  // Each call waits inside the pool until all 32 are inside at once, which only a pool of
  // at least 32 threads allows; a pool that did not grow leaves them waiting out the limit.
  constexpr int kCalls = 32;
  std::mutex mu;
  std::condition_variable all_inside;
  int inside = 0, peak = 0;
  const auto limit = std::chrono::steady_clock::now() + 30s;  // shared: later calls wait less
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([&] {
    std::vector<spindle::Task<void>> ts;
    for (int i = 0; i < kCalls; ++i) {
      ts.push_back(spindle::spawn([&] {
        spindle::blocking([&] {
          std::unique_lock lock(mu);
          peak = std::max(peak, ++inside);
          if (peak == kCalls) all_inside.notify_all();
          all_inside.wait_until(lock, limit, [&] { return peak >= kCalls; });
          --inside;
        });
      }));
    }
    for (auto& t : ts) t.join();
  });
  EXPECT_EQ(peak, kCalls) << "calls inside the pool at once, at most";
}

TEST(Blocking, OnAPlainThreadItJustCalls) {
  const auto me = std::this_thread::get_id();
  EXPECT_EQ(spindle::blocking([] { return std::this_thread::get_id(); }), me);
}

TEST(Fs, WriteThenReadAndErrorsNameThePath) {
  const auto path =
      std::filesystem::temp_directory_path() / ("spindle_fs_test_" + std::to_string(::getpid()));
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([&] {
    std::string data(100000, 'q');
    data += "end";
    spindle::fs::write_file(path, data);
    EXPECT_EQ(spindle::fs::read_file(path), data);
    try {
      spindle::fs::read_file("/no/such/dir/file");
      ADD_FAILURE() << "read_file succeeded";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
      EXPECT_NE(std::string(e.what()).find("read_file(/no/such/dir/file)"), std::string::npos)
          << e.what();
    }
  });
  EXPECT_EQ(spindle::fs::read_file(path).size(), 100003u);  // plain thread too
  std::filesystem::remove(path);
}

}  // namespace
