// SPDX-License-Identifier: Apache-2.0
// How far apart the first two CPUs this process may use are: the round trip of one cache
// line between two threads pinned to them, in ns (median of several runs), printed as JSON.
//
// Every two-worker figure that passes messages pays this distance, and on a virtual machine
// it changes with where the host places the vCPUs, by a factor of several even between
// runs close together. Two-worker figures (Go's and spindle's) drift too, though not in
// lockstep with it. tools/run_bench.sh records it before and after the run.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

struct alignas(64) Line {
  std::atomic<long> value{0};
};

// One run: `rounds` round trips of `line` between this thread (on its CPU) and a helper
// pinned to `other`.
double round_trip_ns(Line& line, long rounds, int other) {
  line.value.store(0, std::memory_order_relaxed);  // relaxed: before the helper starts
  bool pinned = true;
  std::thread echo([&line, rounds, other, &pinned] {
    pinned = pin_to(other);
    for (long i = 0; i < rounds; ++i) {
      // acquire/release: the two threads hand the line back and forth; no other data.
      while (line.value.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      line.value.store(2 * i + 2, std::memory_order_release);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < rounds; ++i) {
    line.value.store(2 * i + 1, std::memory_order_release);            // release: as above
    while (line.value.load(std::memory_order_acquire) != 2 * i + 2) {  // acquire: as above
    }
  }
  const auto stop = std::chrono::steady_clock::now();
  echo.join();
  if (!pinned) return -1;
  return std::chrono::duration<double, std::nano>(stop - start).count() /
         static_cast<double>(rounds);
}

}  // namespace

int main() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c) {
      if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
    }
  }
  if (cpus.size() < 2 || !pin_to(cpus[0])) {
    std::printf("{\"core_round_trip_ns\": null, \"why\": \"fewer than two CPUs to pin to\"}\n");
    return 0;
  }
  Line line;
  std::vector<double> runs;
  for (int r = 0; r < 7; ++r) runs.push_back(round_trip_ns(line, 100000, cpus[1]));
  if (std::find(runs.begin(), runs.end(), -1.0) != runs.end()) {
    std::printf("{\"core_round_trip_ns\": null, \"why\": \"could not pin to CPU %d\"}\n", cpus[1]);
    return 0;
  }
  std::sort(runs.begin(), runs.end());
  std::printf(
      "{\"core_round_trip_ns\": %.1f, \"min_ns\": %.1f, \"max_ns\": %.1f, \"cpus\": [%d, %d]}\n",
      runs[3], runs.front(), runs.back(), cpus[0], cpus[1]);
  return 0;
}
