// SPDX-License-Identifier: Apache-2.0
// Pipelines as values, Result routing, probes, and cancellation in the middle of a pipeline
// with nothing left behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

#include "pattern_test_util.hpp"

using namespace std::chrono_literals;
using pattern_test::drain;
using pattern_test::stages_wind_down;

namespace {

TEST(PatternPipeline, ApiSnippetBehavesAsDocumented) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    spindle::RecvChan<spindle::Unit> done = ctx.done();
    spindle::RecvChan<int> ones = spindle::repeat(done, std::vector<int>{1});
    spindle::RecvChan<int> first = spindle::take(done, ones, 10);
    spindle::RecvChan<int> sq = spindle::map(done, first, [](int v) { return v * v; });
    spindle::RecvChan<int> odd = spindle::filter(done, sq, [](int v) { return v % 2 == 1; });
    spindle::RecvChan<int> queued = spindle::buffer(done, odd, 64);
    EXPECT_EQ(drain(queued), std::vector<int>(10, 1));
    spindle::RecvChan<int> rnd = spindle::repeat_fn(done, [] { return 4; });
    EXPECT_EQ(rnd.recv(), 4);
    cancel();
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternPipeline, StagesComposeIntoAReusableValue) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    auto square_odds = spindle::stage::map([](int v) { return v * v; }) |
                       spindle::stage::filter([](int v) { return v % 2 == 1; });
    auto pipeline = square_odds | spindle::stage::batch(2);  // composition of compositions
    EXPECT_EQ(drain(pipeline(done, spindle::generate(done, {1, 2, 3, 4, 5}))),
              (std::vector<std::vector<int>>{{1, 9}, {25}}));
    // The same value runs again on another input.
    EXPECT_EQ(drain(pipeline(done, spindle::generate(done, {7}))),
              (std::vector<std::vector<int>>{{49}}));
    // Fluent form.
    spindle::RecvChan<std::string> words =
        spindle::flow(done, std::vector<int>{1, 2, 3, 4, 5, 6}) | square_odds |
        spindle::stage::take(2) | spindle::stage::map([](int v) { return std::to_string(v); });
    EXPECT_EQ(drain(words), (std::vector<std::string>{"1", "9"}));
    // take() stopped reading after two values; the stages before it wait for done.
    done.close();
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternPipeline, ParallelMapWidensAStage) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    std::vector<int> in(30, 2);
    auto out = spindle::flow(done, in) | spindle::stage::parallel_map(3, [](int v) {
                 spindle::sleep_for(1ms);
                 return v + 1;
               });
    auto got = drain(out.chan());
    EXPECT_EQ(got, std::vector<int>(30, 3));
    EXPECT_TRUE(stages_wind_down());
  });
}

spindle::Result<int> parse(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
    return spindle::Result<int>::failure(std::make_error_code(std::errc::invalid_argument));
  }
  return std::stoi(s);
}

TEST(PatternPipeline, ErrorsTravelAsResultsToWhereTheyAreHandled) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    std::vector<std::string> lines{"1", "x", "20", "", "300"};
    auto parsed = spindle::try_map(done, spindle::generate(done, lines), parse);
    auto doubled = spindle::try_map(done, parsed, [](int v) { return v * 2; });  // errors pass
    std::vector<std::error_code> errors;
    auto values =
        spindle::route_errors(done, doubled, [&](std::error_code ec) { errors.push_back(ec); });
    EXPECT_EQ(drain(values), (std::vector<int>{2, 40, 600}));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0], std::errc::invalid_argument);

    // Errors to a channel instead, through the stage factories.
    spindle::Chan<std::error_code> error_chan(8);
    auto good = spindle::flow(done, lines) | spindle::stage::try_map(parse) |
                spindle::stage::route_errors(error_chan);
    EXPECT_EQ(drain(good.chan()), (std::vector<int>{1, 20, 300}));
    EXPECT_EQ(error_chan.size(), 2u);
    EXPECT_TRUE(stages_wind_down());
  });
}

TEST(PatternPipeline, ProbeMeasuresLittlesLawQuantities) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  spindle::Probe probe("slow");
  rt.block_on([&] {
    spindle::Chan<spindle::Unit> done;
    std::vector<int> in(20, 1);
    auto outs = spindle::fan_out(
        done, spindle::generate(done, in), 2,
        [](int v) {
          spindle::sleep_for(2ms);
          return v;
        },
        &probe);
    EXPECT_EQ(drain(spindle::fan_in(done, outs)).size(), 20u);
    EXPECT_TRUE(stages_wind_down());
  });
  auto s = probe.stats();
  EXPECT_EQ(s.arrivals, 20u);
  EXPECT_EQ(s.departures, 20u);
  EXPECT_EQ(s.in_flight, 0);
  EXPECT_GE(s.w, 2ms);
  EXPECT_GT(s.lambda, 0.0);
  // Two workers each always holding a value: L close to 2, and L = λW by construction of
  // the measurements (both come from the same stays), up to the tail after the last arrival.
  EXPECT_GT(s.l, 0.3);
  EXPECT_LE(s.l, 2.05);
  double secs = std::chrono::duration<double>(s.w).count();
  EXPECT_NEAR(s.l, s.lambda * secs, 0.5 * s.l);
  EXPECT_NE(probe.to_string().find("slow: 20 in, 20 out"), std::string::npos) << probe.to_string();
}

TEST(PatternPipeline, CancellingMidPipelineClosesEveryStageAndLeavesNoTask) {
  auto before = pattern_test::live_stages();
  {
    spindle::Runtime rt{spindle::Options{.workers = 2}};
    rt.block_on([] {
      auto [ctx, cancel] = spindle::with_cancel(spindle::background());
      int n = 0;
      auto src = spindle::repeat_fn(ctx, [&n] { return n++; });  // endless
      auto [a, b] = spindle::tee(ctx, src);
      auto sq = spindle::map(ctx, a, [](int v) { return v * v; });
      auto even = spindle::filter(ctx, sq, [](int v) { return v % 2 == 0; });
      auto workers = spindle::fan_out(ctx, even, 4, [](int v) { return v + 1; });
      auto merged = spindle::fan_in(ctx, workers);
      auto queued = spindle::buffer(ctx, merged, 8);
      auto batches = spindle::batch(ctx, queued, 5, 10ms);
      auto any = spindle::or_channel({ctx.done(), spindle::RecvChan<spindle::Unit>()});
      EXPECT_GT(pattern_test::live_stages(), 10);
      // Consume a little from the two ends, then pull the plug in the middle of the flow.
      ASSERT_TRUE(batches.recv().has_value());
      ASSERT_TRUE(b.recv().has_value());
      cancel();
      // Every output closes ...
      drain(batches);
      drain(b);
      for (auto& w : workers) drain(w);
      drain(merged);
      drain(queued);
      drain(sq);
      drain(even);
      EXPECT_FALSE(any.recv().has_value());
    });
    // ... and every stage task ends.
    EXPECT_TRUE(stages_wind_down(before));
    spindle::LeakReport leaks = rt.leaks();
    EXPECT_TRUE(leaks.empty()) << leaks.to_string();
  }  // the runtime is destroyed with nothing left to unwind
  EXPECT_EQ(pattern_test::live_stages(), before);
}

TEST(PatternPipeline, TimeoutContextStopsAnEndlessPipeline) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    // Long enough for a batch to come out on a loaded machine under a sanitizer.
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 200ms);
    auto start = spindle::Clock::now();
    auto out = spindle::flow(ctx, spindle::repeat_fn(ctx, [] { return 1; })) |
               spindle::stage::map([](int v) { return v + 1; }) | spindle::stage::batch(16, 5ms);
    std::size_t batches = 0;
    for (auto& b : out.chan()) {
      EXPECT_FALSE(b.empty());
      ++batches;
    }
    EXPECT_GT(batches, 0u);
    EXPECT_LT(spindle::Clock::now() - start, 2s);
    EXPECT_EQ(ctx.err(), spindle::errc::deadline_exceeded);
    cancel();
    EXPECT_TRUE(stages_wind_down());
  });
}

}  // namespace

namespace {

TEST(PatternPipeline, RuntimeTeardownUnwindsAForgottenPipeline) {
  auto before = pattern_test::live_stages();
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    rt.block_on([] {
      spindle::Chan<spindle::Unit> never;  // nobody will ever close it
      auto out = spindle::batch(
          never,
          spindle::map(never, spindle::repeat_fn(never, [] { return 1; }), [](int v) { return v; }),
          4);
      EXPECT_TRUE(out.recv().has_value());
    });  // the stages stay blocked, waiting for a reader or for done
    EXPECT_GT(pattern_test::live_stages(), before);
  }  // ~Runtime unwinds every stage: outputs close, counters drop, nothing leaks (ASan)
  EXPECT_EQ(pattern_test::live_stages(), before);
}

}  // namespace
