// SPDX-License-Identifier: Apache-2.0
// Memory per blocked task and CPU use of an idle runtime. A plain program (not Google
// Benchmark): each measurement prints one JSON line on stdout, the format perf/go/*.go
// print too and tools/bench_table.py reads:
//
//   {"workload": "rss_blocked_100k", "impl": "spindle", "workers": 1, "value": 4.1,
//    "unit": "KiB/task", ...}
//
// rss_blocked_<N>:  spawn N tasks that all sleep for an hour; once all are asleep, the RSS
//                   growth since before the spawns (/proc/self/statm) divided by N. The
//                   runtime is then destroyed, which unwinds the sleepers (on_leak = ignore).
// idle_cpu:         a runtime that has run one task and has nothing left to do; process CPU
//                   time (getrusage, user + system) over --idle-ms, per second of wall time.
// idle_cpu_blocked_<N>: the same while the N sleepers of rss_blocked_<N> exist.
// teardown_blocked_<N>: ~Runtime() with those N sleepers (it unwinds each), per task.
//
// Usage: spindle_rss_bench [--tasks=N] [--workers=W] [--reps=R] [--idle-ms=MS]
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#define SPINDLE_PERF_NO_GBENCH 1
#include "bench_common.hpp"
#include "spindle/spindle.hpp"

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

double cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
  };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

double ms_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

// CPU milliseconds the process burns per wall-clock second while the caller sleeps.
double idle_cpu_ms_per_s(int idle_ms) {
  const double c0 = cpu_ms();
  const auto t0 = SteadyClock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(idle_ms));
  const double wall = ms_since(t0);
  return (cpu_ms() - c0) / (wall / 1e3);
}

void emit(const std::string& workload, int workers, double value, const char* unit,
          const std::string& extra = "") {
  std::printf(
      "{\"workload\": \"%s\", \"impl\": \"spindle\", \"workers\": %d, \"value\": %.4f, "
      "\"unit\": \"%s\"%s}\n",
      workload.c_str(), workers, value, unit, extra.c_str());
  std::fflush(stdout);
}

spindle::Options options(int workers) {
  return spindle::Options{.workers = static_cast<std::size_t>(workers),
                          .on_leak = spindle::LeakPolicy::ignore,
                          .deadlock_after = std::chrono::nanoseconds::zero()};
}

void measure_blocked(std::int64_t n, int workers, int idle_ms) {
  const std::string label = spindle_perf::size_label(n);
  auto rt = std::make_unique<spindle::Runtime>(options(workers));
  // Warm up: every worker thread exists and the allocator has its arenas.
  rt->block_on([] { spindle::yield(); });
  std::this_thread::sleep_for(20ms);
  const double before = spindle_perf::rss_kib();

  std::atomic<std::int64_t> asleep{0};
  const auto t0 = SteadyClock::now();
  rt->block_on([n, &asleep] {
    for (std::int64_t i = 0; i < n; ++i) {
      spindle::spawn([&asleep] {
        asleep.fetch_add(1, std::memory_order_relaxed);
        spindle::sleep_for(1h);
      }).detach();
    }
    while (asleep.load(std::memory_order_relaxed) < n) spindle::sleep_for(1ms);
  });
  const double spawn_ms = ms_since(t0);
  // The last task counted itself just before parking; give it time to finish parking.
  std::this_thread::sleep_for(20ms);
  const double after = spindle_perf::rss_kib();
  const double per_task = (after - before) / static_cast<double>(n);

  const double idle_blocked = idle_cpu_ms_per_s(idle_ms);

  // Print before the teardown, so the measurement survives a teardown that fails.
  char extra[256];
  std::snprintf(extra, sizeof extra,
                ", \"tasks\": %" PRId64
                ", \"rss_before_kib\": %.0f, \"rss_after_kib\": %.0f, \"spawn_block_ms\": %.1f",
                n, before, after, spawn_ms);
  emit("rss_blocked_" + label, workers, per_task, "KiB/task", extra);
  emit("idle_cpu_blocked_" + label, workers, idle_blocked, "ms/s");

  const auto t1 = SteadyClock::now();
  rt.reset();  // unwinds every sleeper
  const double teardown_ms = ms_since(t1);
  std::snprintf(extra, sizeof extra, ", \"tasks\": %" PRId64 ", \"teardown_ms\": %.1f", n,
                teardown_ms);
  emit("teardown_blocked_" + label, workers, teardown_ms * 1e3 / static_cast<double>(n), "us/task",
       extra);
}

void measure_idle(int workers, int idle_ms) {
  spindle::Runtime rt{options(workers)};
  rt.block_on([] { spindle::yield(); });
  std::this_thread::sleep_for(50ms);  // let the workers finish spinning and park
  emit("idle_cpu", workers, idle_cpu_ms_per_s(idle_ms), "ms/s");
}

bool flag(const char* arg, const char* name, long long& out) {
  const std::size_t len = std::strlen(name);
  if (std::strncmp(arg, name, len) != 0 || arg[len] != '=') return false;
  char* end = nullptr;
  out = std::strtoll(arg + len + 1, &end, 10);
  if (end == arg + len + 1 || *end != '\0' || out <= 0) {
    std::fprintf(stderr, "spindle_rss_bench: bad value in '%s'\n", arg);
    std::exit(2);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  long long tasks = spindle_perf::env_size("SPINDLE_BENCH_RSS_TASKS", 100000);
  long long workers = spindle_perf::worker_counts().back();
  long long reps = 1;
  long long idle_ms = 1000;
  for (int i = 1; i < argc; ++i) {
    if (!flag(argv[i], "--tasks", tasks) && !flag(argv[i], "--workers", workers) &&
        !flag(argv[i], "--reps", reps) && !flag(argv[i], "--idle-ms", idle_ms)) {
      std::fprintf(stderr, "usage: %s [--tasks=N] [--workers=W] [--reps=R] [--idle-ms=MS]\n",
                   argv[0]);
      return 2;
    }
  }
  for (long long r = 0; r < reps; ++r) {
    measure_blocked(tasks, static_cast<int>(workers), static_cast<int>(idle_ms));
    measure_idle(static_cast<int>(workers), static_cast<int>(idle_ms));
  }
  return 0;
}
