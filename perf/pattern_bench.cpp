// SPDX-License-Identifier: Apache-2.0
// The patterns benchmarks, each against Go's perf/go/pattern.go:
//
//   pipeline4/spindle/workers:N       a 4-stage pipeline (source, map, filter, map) under a
//                                     cancellable context; t_op = time per item end to end
//   ctx_cancel_10k/spindle/workers:N  10k children of one context made, then the parent
//                                     cancelled; t_op = time per child
//   or_channel_100/spindle/workers:N  or_channel over 100 done channels, one closed, the
//                                     output received; t_op = time per or_channel
//
// SPINDLE_BENCH_PIPELINE_ITEMS: items per pipeline run (default 100000).
#include <cstdint>
#include <vector>

#include "bench_common.hpp"
#include "spindle/spindle.hpp"

namespace {

std::int64_t g_items = 100000;

void BM_pipeline4(benchmark::State& state) {
  spindle::Runtime rt{spindle::Options{.workers = static_cast<std::size_t>(state.range(0))}};
  const std::int64_t n = g_items;
  // Every timing loop here runs inside one task, as Go's runs in its main goroutine (see
  // BM_or_channel_100 for why it matters).
  rt.block_on([&state, n] {
    for (auto _ : state) {
      auto [ctx, cancel] = spindle::with_cancel(spindle::background());
      std::int64_t i = 0;
      auto src = spindle::take(ctx, spindle::repeat_fn(ctx, [&i] { return i++; }),
                               static_cast<std::size_t>(n));
      auto doubled = spindle::map(ctx, src, [](std::int64_t v) { return v * 2; });
      auto kept = spindle::filter(ctx, doubled, [](std::int64_t v) { return v >= 0; });
      auto plus = spindle::map(ctx, kept, [](std::int64_t v) { return v + 1; });
      std::int64_t s = 0;
      for (std::int64_t v : plus) s += v;
      cancel();  // the endless repeat_fn stops here
      benchmark::DoNotOptimize(s);
    }
  });
  spindle_perf::set_ops(state, static_cast<double>(n));
}

void BM_ctx_cancel_10k(benchmark::State& state) {
  spindle::Runtime rt{spindle::Options{.workers = static_cast<std::size_t>(state.range(0))}};
  constexpr int kChildren = 10000;
  rt.block_on([&state] {
    for (auto _ : state) {
      auto [parent, cancel] = spindle::with_cancel(spindle::background());
      std::vector<spindle::ContextWithCancel> children;
      children.reserve(kChildren);
      for (int i = 0; i < kChildren; ++i) children.push_back(spindle::with_cancel(parent));
      cancel();
      benchmark::DoNotOptimize(children.back().ctx.err());
    }
  });
  spindle_perf::set_ops(state, kChildren);
}

void BM_or_channel_100(benchmark::State& state) {
  spindle::Runtime rt{spindle::Options{.workers = static_cast<std::size_t>(state.range(0))}};
  // The timing loop runs inside one task, as Go's runs in its main goroutine: one or_channel
  // takes microseconds, and a block_on per iteration would time two wake-ups of sleeping
  // OS threads (the worker's and this thread's) rather than the pattern.
  rt.block_on([&state] {
    for (auto _ : state) {
      std::vector<spindle::Chan<spindle::Unit>> chans(100);
      auto any = spindle::or_channel(chans);
      chans[57].close();
      any.recv();
    }
  });
  spindle_perf::set_ops(state, 1);
}

}  // namespace

int main(int argc, char** argv) {
  g_items = spindle_perf::env_size("SPINDLE_BENCH_PIPELINE_ITEMS", g_items);
  for (int w : spindle_perf::worker_counts()) {
    benchmark::RegisterBenchmark("pipeline4/spindle", &BM_pipeline4)
        ->ArgName("workers")
        ->Arg(w)
        ->UseRealTime()
        ->MeasureProcessCPUTime();
    benchmark::RegisterBenchmark("ctx_cancel_10k/spindle", &BM_ctx_cancel_10k)
        ->ArgName("workers")
        ->Arg(w)
        ->UseRealTime()
        ->MeasureProcessCPUTime();
    benchmark::RegisterBenchmark("or_channel_100/spindle", &BM_or_channel_100)
        ->ArgName("workers")
        ->Arg(w)
        ->UseRealTime()
        ->MeasureProcessCPUTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
