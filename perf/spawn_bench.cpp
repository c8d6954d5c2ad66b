// SPDX-License-Identifier: Apache-2.0
// Task creation: spawn+join of many empty tasks, and skynet (a 10-ary tree of tasks whose
// leaves return their number and whose nodes sum their children).
//
//   spawn_join_<N>/{spindle,tbb,boost.fiber}/workers:<w>   N empty tasks spawned, then joined
//   spawn_join_<N>/std.thread_1k                            1,000 threads (per-thread time)
//   skynet_<L>/{spindle,tbb}/workers:<w>                   L leaves, all nodes counted as tasks
//
// No Boost.Fiber skynet: its stock schedulers (round_robin, shared_work) are FIFO, so the
// tree runs breadth first with up to 1.1M fibers alive, each with its own stack, which
// takes gigabytes and is no comparison of scheduling. A LIFO scheduler does not help:
// finished fibers' stacks seem to be freed only when the dispatcher fiber runs, i.e. when
// nothing is ready.
//
// Sizes: SPINDLE_BENCH_SPAWN_TASKS (default 100000) and SPINDLE_BENCH_SKYNET_LEAVES (default
// 1000000, a power of 10); worker counts: see spindle_perf::worker_counts(). t_op is the time
// per task; every case runs one untimed warm-up iteration first (stack pools, thread
// caches), as Go's runtime reuses its goroutines after the first round. skynet also
// reports its peak RSS (VmHWM after resetting it) as peak_rss_mib.
#include <array>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "spindle/spindle.hpp"

#if SPINDLE_BENCH_HAVE_TBB
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#endif
#if SPINDLE_BENCH_HAVE_BOOST_FIBER
#include "boost_fiber_pool.hpp"
#endif

namespace {

using spindle_perf::kSkynetDiv;

std::int64_t g_spawn_tasks = 100000;
std::int64_t g_skynet_leaves = 1000000;

void finish_skynet(benchmark::State& state, std::int64_t sum) {
  if (sum != spindle_perf::skynet_expected(g_skynet_leaves)) {
    state.SkipWithError("skynet: wrong sum");
    return;
  }
  spindle_perf::set_ops(state, static_cast<double>(spindle_perf::skynet_tasks(g_skynet_leaves)));
  state.counters["peak_rss_mib"] = spindle_perf::peak_rss_kib() / 1024.0;
}

// ---------------------------------------------------------------------------------------
// spindle
// ---------------------------------------------------------------------------------------
spindle::Options runtime_options(benchmark::State& state) {
  return spindle::Options{.workers = static_cast<std::size_t>(state.range(0))};
}

void BM_spawn_spindle(benchmark::State& state) {
  spindle::Runtime rt{runtime_options(state)};
  const auto n = static_cast<std::size_t>(g_spawn_tasks);
  auto body = [n] {
    std::vector<spindle::Task<void>> tasks;
    tasks.reserve(n);
    for (std::size_t i = 0; i < n; ++i) tasks.push_back(spindle::spawn([] {}));
    for (auto& t : tasks) t.join();
  };
  rt.block_on(body);  // warm-up: the runtime's stack pool fills once
  for (auto _ : state) rt.block_on(body);
  spindle_perf::set_ops(state, static_cast<double>(n));
}

std::int64_t skynet_spindle(std::int64_t num, std::int64_t size) {
  if (size == 1) return num;
  const std::int64_t sub = size / kSkynetDiv;
  std::array<spindle::Task<std::int64_t>, kSkynetDiv> kids;
  for (int i = 0; i < kSkynetDiv; ++i) {
    kids[static_cast<std::size_t>(i)] =
        spindle::spawn([num, sub, i] { return skynet_spindle(num + i * sub, sub); });
  }
  std::int64_t sum = 0;
  for (auto& k : kids) sum += k.join();
  return sum;
}

void BM_skynet_spindle(benchmark::State& state) {
  spindle::Runtime rt{runtime_options(state)};
  spindle_perf::reset_peak_rss();
  auto body = [] { return skynet_spindle(0, g_skynet_leaves); };
  std::int64_t sum = rt.block_on(body);  // warm-up
  for (auto _ : state) sum = rt.block_on(body);
  finish_skynet(state, sum);
}

// ---------------------------------------------------------------------------------------
// oneTBB
// ---------------------------------------------------------------------------------------
#if SPINDLE_BENCH_HAVE_TBB
void BM_spawn_tbb(benchmark::State& state) {
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  const auto n = g_spawn_tasks;
  auto body = [n] {
    tbb::task_group group;
    for (std::int64_t i = 0; i < n; ++i) group.run([] {});
    group.wait();
  };
  arena.execute(body);  // warm-up
  for (auto _ : state) arena.execute(body);
  spindle_perf::set_ops(state, static_cast<double>(n));
}

std::int64_t skynet_tbb(std::int64_t num, std::int64_t size) {
  if (size == 1) return num;
  const std::int64_t sub = size / kSkynetDiv;
  std::array<std::int64_t, kSkynetDiv> results{};
  tbb::task_group group;
  for (int i = 0; i < kSkynetDiv; ++i) {
    group.run([&results, num, sub, i] {
      results[static_cast<std::size_t>(i)] = skynet_tbb(num + i * sub, sub);
    });
  }
  group.wait();
  std::int64_t sum = 0;
  for (auto r : results) sum += r;
  return sum;
}

void BM_skynet_tbb(benchmark::State& state) {
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  spindle_perf::reset_peak_rss();
  std::int64_t sum = 0;
  auto body = [&sum] { sum = skynet_tbb(0, g_skynet_leaves); };
  arena.execute(body);  // warm-up
  for (auto _ : state) arena.execute(body);
  finish_skynet(state, sum);
}
#endif

// ---------------------------------------------------------------------------------------
// Boost.Fiber
// ---------------------------------------------------------------------------------------
#if SPINDLE_BENCH_HAVE_BOOST_FIBER
void BM_spawn_boost_fiber(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(g_spawn_tasks);
  spindle_perf::run_on_fiber_threads(static_cast<int>(state.range(0)), [&state, n] {
    auto body = [n] {
      std::vector<boost::fibers::fiber> fibers;
      fibers.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        fibers.emplace_back(std::allocator_arg, spindle_perf::fiber_stack(), [] {});
      }
      for (auto& f : fibers) f.join();
    };
    body();  // warm-up
    for (auto _ : state) body();
  });
  spindle_perf::set_ops(state, static_cast<double>(n));
}
#endif

// ---------------------------------------------------------------------------------------
// std::thread
// ---------------------------------------------------------------------------------------
constexpr int kThreads = 1000;

void BM_spawn_std_thread(benchmark::State& state) {
  auto body = [] {
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int i = 0; i < kThreads; ++i) threads.emplace_back([] {});
    for (auto& t : threads) t.join();
  };
  body();  // warm-up
  for (auto _ : state) body();
  spindle_perf::set_ops(state, kThreads);
}

}  // namespace

int main(int argc, char** argv) {
  g_spawn_tasks = spindle_perf::env_size("SPINDLE_BENCH_SPAWN_TASKS", g_spawn_tasks);
  g_skynet_leaves = spindle_perf::env_size("SPINDLE_BENCH_SKYNET_LEAVES", g_skynet_leaves);
  const std::vector<int> workers = spindle_perf::worker_counts();
  const std::string spawn = "spawn_join_" + spindle_perf::size_label(g_spawn_tasks);
  const std::string skynet = "skynet_" + spindle_perf::size_label(g_skynet_leaves);

  spindle_perf::register_case(spawn + "/spindle", workers, &BM_spawn_spindle);
#if SPINDLE_BENCH_HAVE_TBB
  spindle_perf::register_case(spawn + "/tbb", workers, &BM_spawn_tbb);
#endif
#if SPINDLE_BENCH_HAVE_BOOST_FIBER
  spindle_perf::register_case(spawn + "/boost.fiber", workers, &BM_spawn_boost_fiber);
#endif
  spindle_perf::register_case(spawn + "/std.thread_1k", {}, &BM_spawn_std_thread);

  spindle_perf::register_case(skynet + "/spindle", workers, &BM_skynet_spindle);
#if SPINDLE_BENCH_HAVE_TBB
  spindle_perf::register_case(skynet + "/tbb", workers, &BM_skynet_tbb);
#endif

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
