// SPDX-License-Identifier: Apache-2.0
// or_channel, or_done, tee, bridge, fan_in, fan_out.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <vector>

#include "pattern_test_util.hpp"

using namespace std::chrono_literals;
using pattern_test::drain;
using pattern_test::stages_wind_down;
using spindle::Unit;

namespace {

TEST(PatternCombine, OrChannelClosesWhenAnyInputCloses) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<Unit> a, b, c;
    spindle::RecvChan<Unit> any = spindle::or_channel({a, b, c});
    spindle::sleep_for(5ms);
    EXPECT_FALSE(any.try_recv().has_value());
    b.close();
    EXPECT_FALSE(any.recv().has_value());  // closed
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternCombine, OrChannelOverAHundredInputsUsesOneTask) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    std::vector<spindle::Chan<Unit>> chans(100);
    std::vector<spindle::RecvChan<Unit>> views(chans.begin(), chans.end());
    auto before = pattern_test::live_stages();
    auto any = spindle::or_channel(views);
    EXPECT_EQ(pattern_test::live_stages() - before, 1);
    auto any_of_chans = spindle::or_channel(chans);  // a vector of channels works too
    chans[73].close();
    any_of_chans.recv();
    any.recv();
    EXPECT_TRUE(stages_wind_down(before));
  });
}

TEST(PatternCombine, OrChannelEdgeCases) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    EXPECT_TRUE(spindle::or_channel(std::vector<spindle::RecvChan<Unit>>{}).is_nil());
    spindle::Chan<Unit> only;
    EXPECT_EQ(spindle::or_channel({only}), spindle::RecvChan<Unit>(only));
    // Inputs of another type: the first value (or close) fires it.
    spindle::Chan<int> x(1), y;
    auto any = spindle::or_channel(std::vector<spindle::RecvChan<int>>{x, y});
    x.send(5);
    EXPECT_FALSE(any.recv().has_value());
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternCombine, OrDoneForwardsUntilDoneFiresEvenIfTheInputStaysOpen) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<Unit> done;
    spindle::Chan<int> in;  // never closed by anyone
    auto safe = spindle::or_done(done, in);
    spindle::spawn([in] { in.send(1); }).join();
    EXPECT_EQ(safe.recv(), 1);
    done.close();
    EXPECT_TRUE(drain(safe).empty());
    EXPECT_TRUE(stages_wind_down());
    // And it closes when the input closes.
    spindle::Chan<Unit> done2;
    EXPECT_EQ(drain(spindle::or_done(done2, spindle::generate(done2, {1, 2}))),
              (std::vector<int>{1, 2}));
  });
}

TEST(PatternCombine, TeeDeliversEveryValueToBothInOrder) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<Unit> done;
    auto [left, right] = spindle::tee(done, spindle::generate(done, {1, 2, 3, 4}));
    auto r = spindle::spawn([right = right] { return drain(right); });
    EXPECT_EQ(drain(left), (std::vector<int>{1, 2, 3, 4}));
    EXPECT_EQ(r.join(), (std::vector<int>{1, 2, 3, 4}));
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternCombine, TeeStopsOnDoneWhileOneSideIsStalled) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<Unit> done;
    auto [left, right] = spindle::tee(done, spindle::repeat(done, {7}));
    EXPECT_EQ(left.recv(), 7);  // right is never read: tee waits for it
    done.close();
    drain(left);
    drain(right);
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternCombine, BridgeFlattensStreamsInOrder) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<Unit> done;
    spindle::Chan<spindle::RecvChan<int>> streams(3);
    streams.send(spindle::generate(done, {1, 2}));
    streams.send(spindle::generate(done, std::vector<int>{}));
    streams.send(spindle::generate(done, {3, 4, 5}));
    streams.close();
    EXPECT_EQ(drain(spindle::bridge(done, streams)), (std::vector<int>{1, 2, 3, 4, 5}));
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternCombine, BridgeStopsOnDoneInsideAStream) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    spindle::Chan<spindle::Chan<int>> streams(1);
    spindle::Chan<int> endless;  // never closed
    streams.send(endless);
    auto flat = spindle::bridge(ctx, streams);
    spindle::spawn([endless] { endless.send(1); }).detach();
    EXPECT_EQ(flat.recv(), 1);
    cancel();
    drain(flat);
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternCombine, FanInMergesEveryValueAndClosesAfterTheLastInput) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<Unit> done;
    spindle::RecvChan<int> x = spindle::generate(done, {1, 3, 5});
    spindle::RecvChan<int> y = spindle::generate(done, {2, 4});
    auto merged = drain(spindle::fan_in(done, std::vector<spindle::RecvChan<int>>{x, y}));
    std::sort(merged.begin(), merged.end());
    EXPECT_EQ(merged, (std::vector<int>{1, 2, 3, 4, 5}));
    spindle::Chan<int> a(1), b(1);
    a.send(10);
    b.send(20);
    a.close();
    b.close();
    auto braced = drain(spindle::fan_in(done, {a, b}));
    EXPECT_EQ(braced.size(), 2u);
    EXPECT_TRUE(drain(spindle::fan_in(done, std::vector<spindle::RecvChan<int>>{})).empty());
    std::vector<spindle::Chan<int>> chans(3);
    for (auto& ch : chans) {
      spindle::spawn([ch] {
        ch.send(1);
        ch.close();
      }).detach();
    }
    EXPECT_EQ(drain(spindle::fan_in(done, chans)), (std::vector<int>{1, 1, 1}));
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternCombine, FanOutSharesTheInputAmongWorkers) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<Unit> done;
    std::vector<int> input(40);
    std::iota(input.begin(), input.end(), 0);
    std::atomic<int> busy{0}, peak{0};
    auto workers = spindle::fan_out(done, spindle::generate(done, input), 4, [&](int v) {
      int now = busy.fetch_add(1) + 1;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      spindle::sleep_for(1ms);  // parks: other workers take values meanwhile
      busy.fetch_sub(1);
      return v * 2;
    });
    ASSERT_EQ(workers.size(), 4u);
    auto all = drain(spindle::fan_in(done, workers));
    std::sort(all.begin(), all.end());
    std::vector<int> want;
    for (int v : input) want.push_back(v * 2);
    EXPECT_EQ(all, want) << "each value processed by exactly one worker";
    EXPECT_GE(peak.load(), 2);
    EXPECT_THROW(spindle::fan_out(done, spindle::Chan<int>(), 0, [](int v) { return v; }),
                 std::invalid_argument);
    EXPECT_TRUE(stages_wind_down());
  });
}

}  // namespace
