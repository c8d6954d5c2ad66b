// SPDX-License-Identifier: Apache-2.0
// map, filter, buffer, batch.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "pattern_test_util.hpp"

using namespace std::chrono_literals;
using pattern_test::drain;
using pattern_test::stages_wind_down;

namespace {

TEST(PatternStages, MapAndFilterKeepOrderAndMayChangeTheType) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    auto nums = spindle::generate(done, std::vector<int>{1, 2, 3, 4, 5, 6});
    auto odd = spindle::filter(done, nums, [](int v) { return v % 2 == 1; });
    auto text = spindle::map(done, odd, [](int v) { return std::to_string(v * v); });
    EXPECT_EQ(drain(text), (std::vector<std::string>{"1", "9", "25"}));
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternStages, MapMovesMoveOnlyValues) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<std::unique_ptr<int>> in(3);
    for (int i = 1; i <= 3; ++i) in.send(std::make_unique<int>(i));
    in.close();
    spindle::RecvChan<spindle::Unit> done;
    auto out = spindle::map(done, in, [](std::unique_ptr<int> p) {
      *p *= 10;
      return p;
    });
    std::vector<int> got;
    for (auto& p : out) got.push_back(*p);
    EXPECT_EQ(got, (std::vector<int>{10, 20, 30}));
  });
}

TEST(PatternStages, MapStopsMidStreamWhenDoneFires) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    auto squares =
        spindle::map(ctx, spindle::repeat_fn(ctx, [] { return 3; }), [](int v) { return v * v; });
    EXPECT_EQ(squares.recv(), 9);
    cancel();
    drain(squares);  // closes
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternStages, BufferLetsTheProducerRunAhead) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> src;  // unbuffered
    std::atomic<bool> produced_all{false};
    auto producer = spindle::spawn([&] {
      for (int i = 0; i < 10; ++i) src.send(i);
      produced_all = true;
      src.close();
    });
    auto queued = spindle::buffer(done, src, 16);
    for (int i = 0; i < 1000 && !produced_all; ++i) spindle::sleep_for(1ms);
    EXPECT_TRUE(produced_all.load()) << "nobody consumed, yet all 10 values left the producer";
    producer.join();
    std::vector<int> want{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    EXPECT_EQ(drain(queued), want);
    EXPECT_THROW(spindle::buffer(done, src, 0), std::invalid_argument);
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternStages, BatchGroupsBySizeAndFlushesTheRestAtClose) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    auto batches = spindle::batch(
        done, spindle::generate(done, std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), 4, 1s);
    std::vector<std::vector<int>> want{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10}};
    EXPECT_EQ(drain(batches), want);
    auto untimed = spindle::batch(done, spindle::generate(done, {1, 2, 3}), 2);
    EXPECT_EQ(drain(untimed), (std::vector<std::vector<int>>{{1, 2}, {3}}));
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternStages, BatchSendsAPartialBatchAfterMaxWait) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> src;
    auto batches = spindle::batch(done, src, 100, 20ms);
    auto start = spindle::Clock::now();
    src.send(1);
    src.send(2);
    auto first = batches.recv();  // src stays open: only the timer can flush this batch
    auto waited = spindle::Clock::now() - start;
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(*first, (std::vector<int>{1, 2}));
    EXPECT_GE(waited, 15ms);
    EXPECT_LT(waited, 2s);
    src.send(3);
    src.close();
    EXPECT_EQ(drain(batches), (std::vector<std::vector<int>>{{3}}));
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternStages, BatchDropsTheOpenBatchWhenDoneFires) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> src;
    auto batches = spindle::batch(done, src, 10, 1h);
    src.send(1);
    done.close();
    EXPECT_TRUE(drain(batches).empty());
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternStages, BatchRejectsArgumentsThatCannotWork) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> src;
    EXPECT_THROW(spindle::batch(done, src, 0, 1ms), std::invalid_argument);
    EXPECT_THROW(spindle::batch(done, src, 0), std::invalid_argument);
    EXPECT_THROW(spindle::batch(done, src, 4, 0ms), std::invalid_argument);
    EXPECT_THROW(spindle::batch(done, src, 4, -1ms), std::invalid_argument);
    EXPECT_EQ(pattern_test::live_stages(), 0) << "a rejected call starts nothing";
  });
}

}  // namespace
