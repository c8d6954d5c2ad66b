// SPDX-License-Identifier: Apache-2.0
// The Context and Patterns snippets of ../shared/spec/API.md, verbatim where possible, so
// they keep compiling and behaving as their comments say.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <system_error>

#include "pattern_test_util.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

TEST(PatternApiSnippet, PatternsSectionCompilesAndBehaves) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    spindle::RecvChan<spindle::Unit> done = ctx.done();
    spindle::Chan<spindle::Unit> a, b, c;
    spindle::Chan<int> in(3);
    in.send(1);
    in.send(2);
    in.send(3);
    in.close();
    spindle::Chan<spindle::RecvChan<int>> chan_of_chans(1);
    chan_of_chans.send(spindle::generate(done, {5, 6}));
    chan_of_chans.close();
    spindle::Chan<int> x(1), y(1);
    x.send(10);
    y.send(20);
    x.close();
    y.close();

    spindle::RecvChan<spindle::Unit> any =
        spindle::or_channel({a, b, c});                        // closes when any input does
    spindle::RecvChan<int> safe = spindle::or_done(done, in);  // in, until done fires
    auto [left, right] = spindle::tee(done, safe);             // every value to both, in order
    spindle::RecvChan<int> flat =
        spindle::bridge(done, chan_of_chans);  // RecvChan<RecvChan<int>> in order
    spindle::RecvChan<int> merged =
        spindle::fan_in(done, std::vector<spindle::RecvChan<int>>{x, y});
    spindle::Chan<int> work(2);
    work.send(1);
    work.send(2);
    work.close();
    std::vector<spindle::RecvChan<int>> workers =
        spindle::fan_out(done, work, 4, [](int v) { return v * 2; });  // 4 tasks share the input
    spindle::RecvChan<int> gen = spindle::generate(done, std::vector<int>{1, 2, 3});  // then closes
    spindle::RecvChan<int> ones = spindle::repeat(done, std::vector<int>{1});         // forever
    spindle::RecvChan<int> rnd = spindle::repeat_fn(done, [] { return 4; });          // forever
    spindle::RecvChan<int> first = spindle::take(done, ones, 10);  // 10 then closes
    spindle::RecvChan<int> sq = spindle::map(done, first, [](int v) { return v * v; });
    spindle::RecvChan<int> odd = spindle::filter(done, sq, [](int v) { return v % 2 == 1; });
    spindle::RecvChan<int> queued = spindle::buffer(done, odd, 64);  // queuing stage, capacity 64

    auto r = spindle::spawn([right = right] { return pattern_test::drain(right); });
    EXPECT_EQ(pattern_test::drain(left), (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(r.join(), (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(pattern_test::drain(flat), (std::vector<int>{5, 6}));
    EXPECT_EQ(pattern_test::drain(merged).size(), 2u);
    int doubled = 0;
    for (auto& w : workers) {
      for (int v : w) doubled += v;
    }
    EXPECT_EQ(doubled, 6);
    EXPECT_EQ(pattern_test::drain(gen), (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(rnd.recv(), 4);
    EXPECT_EQ(pattern_test::drain(queued), std::vector<int>(10, 1));
    b.close();
    EXPECT_FALSE(any.recv().has_value());

    spindle::WaitGroup wg;
    wg.add(2);
    wg.done();
    wg.done();
    wg.wait();
    spindle::Mutex mu;
    { std::lock_guard lock(mu); }  // parks tasks, not threads
    spindle::ErrGroup g(ctx);      // like Go's errgroup.WithContext
    g.spawn([](const spindle::Context& c) -> std::error_code {
      (void)c;
      return {};
    });
    std::error_code first_error = g.wait();  // the first error; g.context() was canceled by it
    EXPECT_FALSE(first_error);
    spindle::Result<int> good = 5;
    spindle::Result<int> bad =
        spindle::Result<int>::failure(std::make_error_code(std::errc::io_error));
    EXPECT_EQ(good.value(), 5);
    EXPECT_THROW((void)bad.value(), std::system_error);

    cancel();  // stops repeat and repeat_fn
    EXPECT_TRUE(pattern_test::stages_wind_down());
  });
}

TEST(PatternApiSnippet, PatternsCalledOutsideATaskThrowLogicError) {
  spindle::Chan<spindle::Unit> done;
  EXPECT_THROW(spindle::generate(done, {1, 2}), std::logic_error);
  EXPECT_EQ(pattern_test::live_stages(), 0);
}

}  // namespace
