// SPDX-License-Identifier: Apache-2.0
// Yield ping-pong on one worker: two tasks take turns, each yielding in a loop; t_op is the
// time per yield (one yield = one switch away and, later, one back).
//
//   yield/spindle/workers:1      spindle::yield() in two tasks on a one-worker runtime
//   yield/boost.fiber/workers:1  boost::this_fiber::yield() in two fibers on one thread
//
// SPINDLE_BENCH_YIELDS: yields per task per iteration (default 10000).
#include <cstdint>

#include "bench_common.hpp"
#include "spindle/spindle.hpp"

#if SPINDLE_BENCH_HAVE_BOOST_FIBER
#include <boost/fiber/all.hpp>
#include <thread>
#endif

namespace {

std::int64_t g_yields = 10000;

void BM_yield_spindle(benchmark::State& state) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  const std::int64_t n = g_yields;
  for (auto _ : state) {
    rt.block_on([n] {
      auto body = [n] {
        for (std::int64_t i = 0; i < n; ++i) spindle::yield();
      };
      auto a = spindle::spawn(body);
      auto b = spindle::spawn(body);
      a.join();
      b.join();
    });
  }
  spindle_perf::set_ops(state, static_cast<double>(2 * n));
}

#if SPINDLE_BENCH_HAVE_BOOST_FIBER
void BM_yield_boost_fiber(benchmark::State& state) {
  const std::int64_t n = g_yields;
  // A fresh thread, so the scheduler is Boost.Fiber's default round_robin whatever other
  // benchmarks did to this one.
  std::thread runner([&state, n] {
    for (auto _ : state) {
      auto body = [n] {
        for (std::int64_t i = 0; i < n; ++i) boost::this_fiber::yield();
      };
      boost::fibers::fiber a(body);
      boost::fibers::fiber b(body);
      a.join();
      b.join();
    }
  });
  runner.join();
  spindle_perf::set_ops(state, static_cast<double>(2 * n));
}
#endif

}  // namespace

int main(int argc, char** argv) {
  g_yields = spindle_perf::env_size("SPINDLE_BENCH_YIELDS", g_yields);
  benchmark::RegisterBenchmark("yield/spindle", &BM_yield_spindle)
      ->ArgName("workers")
      ->Arg(1)
      ->UseRealTime()
      ->MeasureProcessCPUTime();
#if SPINDLE_BENCH_HAVE_BOOST_FIBER
  benchmark::RegisterBenchmark("yield/boost.fiber", &BM_yield_boost_fiber)
      ->ArgName("workers")
      ->Arg(1)
      ->UseRealTime()
      ->MeasureProcessCPUTime();
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
