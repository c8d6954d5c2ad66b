// SPDX-License-Identifier: Apache-2.0
// Shared helpers of spindle's benchmark programs (perf/*.cpp).
//
// Naming convention, which tools/bench_table.py relies on: every Google Benchmark case is
// registered as "<workload>/<implementation>[/workers:<n>]" and sets the counter "ops" to
// the number of operations one iteration performs (switches, tasks, yields), so that
// median real_time / ops is the time per operation. Cases without a worker count (raw
// switch, std::thread) apply to every worker count of their workload. Programs that do not
// use Google Benchmark define SPINDLE_PERF_NO_GBENCH before including this header.
#pragma once

#ifndef SPINDLE_PERF_NO_GBENCH
#include <benchmark/benchmark.h>
#endif
#include <malloc.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace spindle_perf {

/// Worker counts to measure: `$SPINDLE_BENCH_WORKERS` (comma list, e.g. "1,2,4"), else
/// `$SPINDLE_WORKERS` (one count, as the runtime itself reads it), else 1 and 2.
inline std::vector<int> worker_counts() {
  std::vector<int> out;
  auto parse = [&out](const char* s) {
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
      char* end = nullptr;
      long v = std::strtol(item.c_str(), &end, 10);
      if (end != item.c_str() && *end == '\0' && v > 0 && v <= 4096) {
        out.push_back(static_cast<int>(v));
      } else {
        std::fprintf(stderr, "perf: ignoring bad worker count '%s'\n", item.c_str());
      }
    }
  };
  if (const char* list = std::getenv("SPINDLE_BENCH_WORKERS"); list != nullptr && *list != '\0') {
    parse(list);
  } else if (const char* one = std::getenv("SPINDLE_WORKERS"); one != nullptr && *one != '\0') {
    parse(one);
  }
  if (out.empty()) out = {1, 2};
  return out;
}

/// A size from the environment (e.g. SPINDLE_BENCH_SPAWN_TASKS), or `fallback`.
inline std::int64_t env_size(const char* name, std::int64_t fallback) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  char* end = nullptr;
  long long v = std::strtoll(s, &end, 10);
  if (end == s || *end != '\0' || v <= 0) {
    std::fprintf(stderr, "perf: ignoring bad %s='%s'\n", name, s);
    return fallback;
  }
  return v;
}

/// "100k", "1M", "1000" ...: the size as it appears in workload names.
inline std::string size_label(std::int64_t n) {
  if (n % 1000000 == 0) return std::to_string(n / 1000000) + "M";
  if (n % 1000 == 0) return std::to_string(n / 1000) + "k";
  return std::to_string(n);
}

#ifndef SPINDLE_PERF_NO_GBENCH
/// Records how many operations one iteration performs: "ops" for the table script and
/// "t_op" (seconds per operation, shown as e.g. "12.3ns" on the console).
inline void set_ops(benchmark::State& state, double ops_per_iteration) {
  state.counters["ops"] = benchmark::Counter(ops_per_iteration);
  state.counters["t_op"] =
      benchmark::Counter(ops_per_iteration, benchmark::Counter::kIsIterationInvariantRate |
                                                benchmark::Counter::kInvert);
}
#endif

#ifndef SPINDLE_PERF_NO_GBENCH
/// Registers `fn(state, args...)` as case `name`, once per worker count in `workers` (as
/// "name/workers:<w>"), or once without a worker count when `workers` is empty; wall-clock
/// time (the CPU column: the whole process), in milliseconds.
template <class Fn, class... Args>
void register_case(const std::string& name, const std::vector<int>& workers, Fn fn, Args... args) {
  auto* b = benchmark::RegisterBenchmark(name.c_str(), fn, args...);
  if (!workers.empty()) {
    b->ArgName("workers");
    for (int w : workers) b->Arg(w);
  }
  b->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
}
#endif

/// Resident set size of this process now, in KiB (/proc/self/statm).
inline double rss_kib() {
  std::ifstream in("/proc/self/statm");
  long long size = 0;
  long long resident = 0;
  in >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1024.0;
}

/// Returns free heap memory to the kernel, then resets the kernel's peak-RSS mark (VmHWM)
/// to the current RSS; false if unsupported.
inline bool reset_peak_rss() {
  malloc_trim(0);
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

/// Peak resident set size (VmHWM) in KiB, or 0 when unknown.
inline double peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
  }
  return 0;
}

/// Go's skynet: 10-ary tree, the leaves return their number, every node sums its children.
inline constexpr int kSkynetDiv = 10;
inline std::int64_t skynet_expected(std::int64_t leaves) { return leaves * (leaves - 1) / 2; }
/// Tasks a skynet run creates: every node of the tree, leaves included (1,111,111 for 1M).
inline std::int64_t skynet_tasks(std::int64_t leaves) {
  std::int64_t total = 0;
  for (std::int64_t level = leaves; level >= 1; level /= kSkynetDiv) total += level;
  return total;
}

}  // namespace spindle_perf
