// SPDX-License-Identifier: Apache-2.0
// generate, repeat, repeat_fn, take; every kind of done signal.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "pattern_test_util.hpp"

using namespace std::chrono_literals;
using pattern_test::drain;
using pattern_test::stages_wind_down;

namespace {

TEST(PatternGenerators, GenerateSendsEveryValueInOrderThenCloses) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::RecvChan<spindle::Unit> done;  // nil: never fires
    EXPECT_EQ(drain(spindle::generate(done, std::vector<int>{1, 2, 3})),
              (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(drain(spindle::generate(done, {std::string("a"), std::string("b")})),
              (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(drain(spindle::generate(done, std::vector<int>{})).empty());
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternGenerators, GenerateStopsWhenDoneFires) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    auto gen = spindle::generate(done, std::vector<int>(1000, 7));
    EXPECT_EQ(gen.recv(), 7);
    done.close();
    // A select with both cases ready picks at random (as Go's does), so a few more values
    // may still come through; then the stage must notice done and close.
    EXPECT_LT(drain(gen).size(), 999u);
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternGenerators, RepeatCyclesUntilCancelled) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    auto first7 = spindle::take(ctx, spindle::repeat(ctx, std::vector<int>{1, 2, 3}), 7);
    EXPECT_EQ(drain(first7), (std::vector<int>{1, 2, 3, 1, 2, 3, 1}));
    EXPECT_GE(pattern_test::live_stages(), 1) << "repeat runs until done fires";
    cancel();
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternGenerators, RepeatOfNothingIsAnError) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    EXPECT_THROW(spindle::repeat(done, std::vector<int>{}), std::invalid_argument);
  });
}

TEST(PatternGenerators, RepeatFnCallsTheFunctionForEveryValue) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    int next = 0;
    auto counted = spindle::take(done, spindle::repeat_fn(done, [&next] { return next++; }), 5);
    EXPECT_EQ(drain(counted), (std::vector<int>{0, 1, 2, 3, 4}));
    done.close();
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternGenerators, TakeClosesEarlyWhenTheInputCloses) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::RecvChan<spindle::Unit> done;
    EXPECT_EQ(drain(spindle::take(done, spindle::generate(done, {1, 2}), 10)),
              (std::vector<int>{1, 2}));
    spindle::Chan<int> never;
    EXPECT_TRUE(drain(spindle::take(done, never, 0)).empty()) << "take 0 closes at once";
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternGenerators, AcceptsEveryKindOfDoneSignal) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> chan_done;
    spindle::RecvChan<spindle::Unit> view_done = chan_done;
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    auto a = spindle::repeat_fn(chan_done, [] { return 1; });
    auto b = spindle::repeat_fn(view_done, [] { return 2; });
    auto c = spindle::repeat_fn(ctx, [] { return 3; });
    auto d = spindle::generate(spindle::background(), std::vector<int>{4});
    EXPECT_EQ(a.recv(), 1);
    EXPECT_EQ(b.recv(), 2);
    EXPECT_EQ(c.recv(), 3);
    EXPECT_EQ(d.recv(), 4);
    chan_done.close();
    cancel();
    drain(a);
    drain(b);
    drain(c);
    EXPECT_TRUE(drain(d).empty());
    EXPECT_TRUE(stages_wind_down());
  });
}

}  // namespace
