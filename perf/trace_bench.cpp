// SPDX-License-Identifier: Apache-2.0
// What tracing costs: the same two workloads with spindle::trace off and on, in one run.
//
//   trace_spawn/off|on/workers:1        spawn one task and join it, n times (spawn, run, exit,
//                                       park of the joiner, wake)
//   trace_pingpong/off|on/workers:1     two tasks exchanging a value over unbuffered channels
//                                       (park + wake + switch each way)
//
// "off" is what every program pays when it never traces: one relaxed load and a branch per
// event site. SPINDLE_BENCH_YIELDS: operations per task per iteration (default 10000).
#include <cstdint>
#include <cstdio>
#include <string>

#include "bench_common.hpp"
#include "spindle/spindle.hpp"
#include "spindle/trace.hpp"

namespace {

std::int64_t g_ops = 10000;

// Traces into a scratch file for the duration of one benchmark case.
class TraceScope {
 public:
  explicit TraceScope(bool on) : on_(on) {
    if (on_) spindle::trace::start(path(), std::size_t{1} << 16);
  }
  ~TraceScope() {
    if (!on_) return;
    spindle::trace::stop();
    std::remove(path().c_str());
  }
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  static std::string path() {
    return "/tmp/spindle-trace-bench-" + std::to_string(::getpid()) + ".json";
  }
  bool on_;
};

void BM_spawn_join(benchmark::State& state, bool traced) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  TraceScope scope(traced);
  const std::int64_t n = g_ops;
  for (auto _ : state) {
    rt.block_on([n] {
      std::int64_t sum = 0;
      for (std::int64_t i = 0; i < n; ++i) sum += spindle::spawn([i] { return i; }).join();
      benchmark::DoNotOptimize(sum);
    });
  }
  spindle_perf::set_ops(state, static_cast<double>(n));
}

void BM_pingpong(benchmark::State& state, bool traced) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  TraceScope scope(traced);
  const std::int64_t n = g_ops;
  for (auto _ : state) {
    rt.block_on([n] {
      spindle::Chan<std::int64_t> ping, pong;
      auto echo = spindle::spawn([ping, pong] {
        while (auto v = ping.recv()) pong.send(*v);
      });
      for (std::int64_t i = 0; i < n; ++i) {
        ping.send(i);
        (void)pong.recv();
      }
      ping.close();
      echo.join();
    });
  }
  spindle_perf::set_ops(state, static_cast<double>(n));
}

}  // namespace

int main(int argc, char** argv) {
  g_ops = spindle_perf::env_size("SPINDLE_BENCH_YIELDS", g_ops);
  for (bool traced : {false, true}) {
    const std::string mode = traced ? "on" : "off";
    benchmark::RegisterBenchmark(("trace_spawn/" + mode).c_str(), &BM_spawn_join, traced)
        ->ArgName("workers")
        ->Arg(1)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("trace_pingpong/" + mode).c_str(), &BM_pingpong, traced)
        ->ArgName("workers")
        ->Arg(1)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
