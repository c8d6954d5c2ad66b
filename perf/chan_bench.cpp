// SPDX-License-Identifier: Apache-2.0
// The channel benchmarks, against Go's perf/go/chan.go:
//
//   chan_pingpong        round trips over two unbuffered channels (t_op: one round trip)
//   chan_spsc_1024       one producer, one consumer, capacity 1024 (t_op: one message)
//   chan_mpmc_4x4_1024   four producers, four consumers, capacity 1024
//   chan_mpmc_4x4_unbuf  four producers, four consumers, unbuffered
//   chan_select2         one receiver selecting over two unbuffered channels, each fed by
//                        its own sender
//   chan_select_recv4    one receiver in select_recv (run-time sized select; Go:
//                        reflect.Select) over four unbuffered channels, each fed by its own
//                        sender
//
// Implementations: spindle on `workers` threads (".../workers:<w>"), Boost.Fiber
// (buffered_channel / unbuffered_channel) on one; and, on OS threads,
// tbb::concurrent_bounded_queue, moodycamel::BlockingConcurrentQueue and a std::mutex +
// std::condition_variable queue (perf/thread_queues.hpp; no worker count: one thread per producer
// and consumer, so they appear in every worker row). The thread queues have no rendezvous, so they
// run neither the unbuffered MPMC case nor select; ping-pong uses two one-slot queues and a tenth
// of the round trips. Boost.Fiber has no select, and its channel cases run on one thread
// only: its multi-thread schedulers (shared_work with polling helpers;
// perf/boost_fiber_pool.hpp) make its channels far slower than on one thread, so the
// one-thread figure is its best. Every case runs one untimed warm-up round first.
//
// Sizes: SPINDLE_BENCH_CHAN_MSGS messages per stream round (default 100000),
// SPINDLE_BENCH_PINGPONGS round trips per ping-pong round (default 10000).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bench_common.hpp"
#include "chan_workloads.hpp"
#include "spindle/spindle.hpp"
#include "thread_queues.hpp"
#include "thread_workloads.hpp"

#if SPINDLE_BENCH_HAVE_BOOST_FIBER
#include "boost_fiber_chan.hpp"
#endif

namespace {

using spindle_perf::stream_sum;

std::int64_t g_msgs = 100000;
std::int64_t g_rounds = 10000;
constexpr std::size_t kCapacity = 1024;
constexpr int kMpmcSide = 4;

enum class Kind { pingpong, spsc, mpmc, mpmc_unbuffered, select2, select_recv4 };

struct Workload {
  const char* name;
  Kind kind;
  bool on_threads;  // the OS-thread queues can run it
  bool on_boost;    // Boost.Fiber can run it
};

constexpr Workload kWorkloads[] = {
    {"chan_pingpong", Kind::pingpong, true, true},
    {"chan_spsc_1024", Kind::spsc, true, true},
    {"chan_mpmc_4x4_1024", Kind::mpmc, true, true},
    {"chan_mpmc_4x4_unbuf", Kind::mpmc_unbuffered, false, true},
    {"chan_select2", Kind::select2, false, false},
    {"chan_select_recv4", Kind::select_recv4, false, false},
};

/// Round trips per ping-pong round on OS threads: each costs two thread wake-ups (tens of
/// microseconds), so a tenth of the green-thread count keeps a round near 100 ms.
std::int64_t thread_rounds() { return g_rounds / 10 > 0 ? g_rounds / 10 : 1; }

double ops_of(Kind kind, bool on_threads) {
  if (kind != Kind::pingpong) return static_cast<double>(g_msgs);
  return static_cast<double>(on_threads ? thread_rounds() : g_rounds);
}

struct SpindleSys {
  using Chan = spindle::Chan<std::int64_t>;
  static Chan make(std::size_t capacity) { return Chan(capacity); }
  template <class F>
  static spindle::Task<void> spawn(F&& fn) {
    return spindle::spawn(std::forward<F>(fn));
  }
  static void send(Chan& c, std::int64_t v) { c.send(v); }
  static std::optional<std::int64_t> recv(Chan& c) { return c.recv(); }
  static void close(Chan& c) { c.close(); }
};

/// Two senders, each on its own unbuffered channel; this task selects over both.
bool select2_spindle(std::int64_t msgs) {
  spindle::Chan<std::int64_t> a;
  spindle::Chan<std::int64_t> b;
  auto feed = [msgs](spindle::Chan<std::int64_t> ch, std::int64_t first) {
    return spindle::spawn([ch, first, msgs]() mutable {
      for (std::int64_t v = first; v < msgs; v += 2) ch.send(v);
    });
  };
  auto ta = feed(a, 0);
  auto tb = feed(b, 1);
  std::int64_t sum = 0;
  auto add = [&sum](std::optional<std::int64_t> v) { sum += v.value_or(0); };
  for (std::int64_t i = 0; i < msgs; ++i)
    spindle::select(spindle::on_recv(a, add), spindle::on_recv(b, add));
  ta.join();
  tb.join();
  return sum == stream_sum(msgs);
}

/// Four senders, each on its own unbuffered channel; this task receives with select_recv.
bool select_recv4_spindle(std::int64_t msgs) {
  constexpr int kInputs = 4;
  std::vector<spindle::Chan<std::int64_t>> chans(kInputs);
  std::vector<spindle::Task<void>> feeders;
  for (int k = 0; k < kInputs; ++k) {
    feeders.push_back(spindle::spawn([ch = chans[k], k, msgs]() mutable {
      for (std::int64_t v = k; v < msgs; v += kInputs) ch.send(v);
    }));
  }
  const std::vector<spindle::RecvChan<std::int64_t>> ins(chans.begin(), chans.end());
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < msgs; ++i) sum += spindle::select_recv(ins).second.value_or(0);
  for (auto& t : feeders) t.join();
  return sum == stream_sum(msgs);
}

/// One round of `kind` on a green-thread library; select only for spindle.
template <class Sys>
bool run_green(Kind kind) {
  switch (kind) {
    case Kind::pingpong:
      return spindle_perf::chan_pingpong<Sys>(g_rounds);
    case Kind::spsc:
      return spindle_perf::chan_stream<Sys>(1, 1, kCapacity, g_msgs);
    case Kind::mpmc:
      return spindle_perf::chan_stream<Sys>(kMpmcSide, kMpmcSide, kCapacity, g_msgs);
    case Kind::mpmc_unbuffered:
      return spindle_perf::chan_stream<Sys>(kMpmcSide, kMpmcSide, 0, g_msgs);
    case Kind::select2:
      if constexpr (std::is_same_v<Sys, SpindleSys>) return select2_spindle(g_msgs);
      break;
    case Kind::select_recv4:
      if constexpr (std::is_same_v<Sys, SpindleSys>) return select_recv4_spindle(g_msgs);
      break;
  }
  return false;
}

/// One round of `kind` on OS threads over `Queue`.
template <class Queue>
bool run_threads(Kind kind) {
  switch (kind) {
    case Kind::pingpong:
      return spindle_perf::thread_pingpong<Queue>(thread_rounds());
    case Kind::spsc:
      return spindle_perf::thread_stream<Queue>(1, kCapacity, g_msgs);
    case Kind::mpmc:
      return spindle_perf::thread_stream<Queue>(kMpmcSide, kCapacity, g_msgs);
    default:
      return false;
  }
}

/// Runs `round()` once untimed, then once per benchmark iteration.
template <class Round>
void measure(benchmark::State& state, Kind kind, bool on_threads, Round&& round) {
  bool ok = round();
  for (auto _ : state) ok = round() && ok;
  if (!ok) state.SkipWithError("a message was lost or duplicated");
  spindle_perf::set_ops(state, ops_of(kind, on_threads));
}

void BM_spindle(benchmark::State& state, Kind kind) {
  spindle::Runtime rt{spindle::Options{.workers = static_cast<std::size_t>(state.range(0))}};
  // The timing loop runs inside a task, as Boost.Fiber's runs in a fiber and Go's in its
  // main goroutine: a block_on per iteration would add two wake-ups of sleeping OS threads.
  rt.block_on([&state, kind] {
    measure(state, kind, false, [kind] { return run_green<SpindleSys>(kind); });
  });
}

#if SPINDLE_BENCH_HAVE_BOOST_FIBER
void BM_boost_fiber(benchmark::State& state, Kind kind) {
  spindle_perf::run_on_fiber_threads(static_cast<int>(state.range(0)), [&state, kind] {
    measure(state, kind, false, [kind] { return run_green<spindle_perf::BoostFiberSys>(kind); });
  });
}
#endif

template <class Queue>
void BM_threads(benchmark::State& state, Kind kind) {
  measure(state, kind, true, [kind] { return run_threads<Queue>(kind); });
}

}  // namespace

int main(int argc, char** argv) {
  g_msgs = spindle_perf::env_size("SPINDLE_BENCH_CHAN_MSGS", g_msgs);
  g_rounds = spindle_perf::env_size("SPINDLE_BENCH_PINGPONGS", g_rounds);
  const std::vector<int> workers = spindle_perf::worker_counts();
  for (const Workload& w : kWorkloads) {
    const std::string name = w.name;
    spindle_perf::register_case(name + "/spindle", workers, &BM_spindle, w.kind);
#if SPINDLE_BENCH_HAVE_BOOST_FIBER
    if (w.on_boost && std::find(workers.begin(), workers.end(), 1) != workers.end()) {
      spindle_perf::register_case(name + "/boost.fiber", {1}, &BM_boost_fiber, w.kind);
    }
#endif
    if (!w.on_threads) continue;
#if SPINDLE_BENCH_HAVE_TBB
    spindle_perf::register_case(name + "/tbb", {}, &BM_threads<spindle_perf::TbbQueue>, w.kind);
#endif
    spindle_perf::register_case(name + "/moodycamel", {},
                                &BM_threads<spindle_perf::MoodycamelQueue>, w.kind);
    spindle_perf::register_case(name + "/std.mutex_cv", {}, &BM_threads<spindle_perf::MutexQueue>,
                                w.kind);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
