// SPDX-License-Identifier: Apache-2.0
// What task tracking costs: spawn + join of short tasks, from inside a task. Build this
// program twice — the normal build (tracking on) and one configured with
// -DSPINDLE_TRACK_TASKS=OFF — and compare items_per_second (perf/README.md, "Tracking
// overhead"); the goal is tracking within 10% of compiled out.
#include <benchmark/benchmark.h>

#include <vector>

#include "spindle/spindle.hpp"

namespace {

constexpr int kTasks = 10'000;
constexpr int kBatch = 256;  // handles joined together, so spawns and finishes overlap

void spawn_join(benchmark::State& state) {
  spindle::Runtime rt{spindle::Options{.workers = static_cast<std::size_t>(state.range(0))}};
  auto body = [] {
    std::vector<spindle::Task<int>> batch;
    batch.reserve(kBatch);
    long sum = 0;
    for (int done = 0; done < kTasks; done += kBatch) {
      for (int i = 0; i < kBatch; ++i) batch.push_back(spindle::spawn([i] { return i; }));
      for (auto& t : batch) sum += t.join();
      batch.clear();
    }
    return sum;
  };
  rt.block_on(body);  // warm-up: fills the stack pool
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(body));
  state.SetItemsProcessed(state.iterations() * kTasks);
  state.counters["ops"] = kTasks;
}

}  // namespace

BENCHMARK(spawn_join)
    ->Name("spawn_join_tracking")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
