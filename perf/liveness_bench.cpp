// SPDX-License-Identifier: Apache-2.0
// Liveness under load: how timers fare while every worker is busy or stuck. A plain program
// (latency distributions, not per-operation times); each measurement prints one JSON line on
// stdout, as perf/go/liveness.go does for Go:
//
//   {"workload": "sleep1ms_yield_load", "impl": "spindle", "workers": 1, "value": 0.97,
//    "unit": "of unloaded wake-ups", ...}
//
// sleep1ms_<load>:   wake-ups of a task looping on sleep_for(1ms) for --window-ms beside the
//                    load, as a fraction of the wake-ups in the same window without it.
//                    yield_load: 1 worker, one task computing 20 us then yielding;
//                    pingpong_load: 2 workers, two ping-pong pairs.
// after1ms_<load>, ctx1ms_<load>: the same with after(1ms).recv() and a 1 ms context timeout.
// timers_100k:       100,000 tasks each sleep a random 0-1,000 ms on 2 workers; lateness
//                    (wake-up minus deadline) p50 and p99, in ms.
// blocked_syscall:   2 workers, 2 tasks in a 1.5 s blocking system call; a 1 ms sleeper's
//                    worst lateness (ms) and a ping-pong pair's round trips meanwhile.
// blocked_compute:   1 worker, 1 task computing 1.5 s; the same two figures.
// echo_busy_<W>w:    TCP echo while W tasks keep the W workers busy (computing 20 us, then
//                    yielding): a plain-thread client's worst round trip of 100, in ms.
//
// Usage: spindle_liveness_bench [--reps=R] [--window-ms=MS] [--only=NAME]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "spindle/spindle.hpp"

namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

int g_reps = 3;
int g_window_ms = 1000;
std::string g_only;

void emit(const char* workload, int workers, double value, const char* unit,
          const std::string& extra = {}) {
  std::printf(
      "{\"workload\": \"%s\", \"impl\": \"spindle\", \"workers\": %d, \"value\": %.4f, "
      "\"unit\": \"%s\"%s}\n",
      workload, workers, value, unit, extra.c_str());
  std::fflush(stdout);
}

void compute_for(std::chrono::nanoseconds d) {
  const auto until = Steady::now() + d;
  while (Steady::now() < until) {
  }
}

// Starts the load; returns when `stop` is set and the load has wound down.
using Load = std::function<void(std::atomic<bool>& stop, spindle::WaitGroup& wg)>;

void yield_load(std::atomic<bool>& stop, spindle::WaitGroup& wg) {
  wg.spawn([&stop] {
    while (!stop.load(std::memory_order_relaxed)) {
      compute_for(20us);
      spindle::yield();
    }
  });
}

void pingpong_pair(std::atomic<bool>& stop, spindle::WaitGroup& wg,
                   std::atomic<long>* trips = nullptr) {
  spindle::Chan<int> ping, pong;
  wg.spawn([ping, pong, &stop, trips]() mutable {
    while (!stop.load(std::memory_order_relaxed)) {
      ping.send(1);
      (void)pong.recv();
      if (trips != nullptr) trips->fetch_add(1, std::memory_order_relaxed);
    }
    ping.close();
  });
  wg.spawn([ping, pong]() mutable {
    while (ping.recv()) pong.send(1);
  });
}

void pingpong_load(std::atomic<bool>& stop, spindle::WaitGroup& wg) {
  pingpong_pair(stop, wg);
  pingpong_pair(stop, wg);
}

// Wake-ups of `waiter` (one 1 ms wait per call) within the window, with or without `load`.
long wakeups(std::size_t workers, const Load* load, const std::function<void()>& waiter) {
  spindle::Runtime rt{spindle::Options{.workers = workers}};
  return rt.block_on([&] {
    std::atomic<bool> stop{false};
    spindle::WaitGroup wg;
    if (load != nullptr) (*load)(stop, wg);
    spindle::sleep_for(10ms);  // let the load settle in
    long n = 0;
    const auto until = Steady::now() + std::chrono::milliseconds(g_window_ms);
    while (Steady::now() < until) {
      waiter();
      ++n;
    }
    stop = true;
    wg.wait();
    return n;
  });
}

void bench_wakeups(const char* kind, const std::function<void()>& waiter) {
  const Load yl = yield_load, pl = pingpong_load;
  struct Case {
    const char* load;
    std::size_t workers;
    const Load* fn;
  } cases[] = {{"yield_load", 1, &yl}, {"pingpong_load", 2, &pl}};
  for (const Case& c : cases) {
    const std::string name = std::string(kind) + "_" + c.load;
    if (!g_only.empty() && g_only != name && g_only != kind) continue;
    for (int r = 0; r < g_reps; ++r) {
      const long base = wakeups(c.workers, nullptr, waiter);
      const long loaded = wakeups(c.workers, c.fn, waiter);
      emit(name.c_str(), static_cast<int>(c.workers),
           static_cast<double>(loaded) / static_cast<double>(base), "of unloaded wake-ups",
           ", \"loaded\": " + std::to_string(loaded) + ", \"unloaded\": " + std::to_string(base));
    }
  }
}

double percentile(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

void bench_timers_100k() {
  if (!g_only.empty() && g_only != "timers_100k") return;
  constexpr int kTasks = 100'000;
  for (int r = 0; r < g_reps; ++r) {
    spindle::Runtime rt{spindle::Options{.workers = 2}};
    std::vector<double> late(kTasks);
    rt.block_on([&] {
      std::mt19937 rng(42 + static_cast<unsigned>(r));
      std::uniform_int_distribution<int> ms(0, 1000);
      spindle::WaitGroup wg;
      for (int i = 0; i < kTasks; ++i) {
        const auto deadline = Steady::now() + std::chrono::milliseconds(ms(rng));
        wg.spawn([&late, i, deadline] {
          spindle::sleep_until(spindle::TimePoint(deadline.time_since_epoch()));
          late[static_cast<std::size_t>(i)] =
              std::chrono::duration<double, std::milli>(Steady::now() - deadline).count();
        });
      }
      wg.wait();
    });
    const double p50 = percentile(late, 0.50), p99 = percentile(late, 0.99);
    emit("timers_100k_p50", 2, p50, "ms late");
    emit("timers_100k_p99", 2, p99, "ms late");
  }
}

// A 1 ms sleeper's worst lateness and a ping-pong pair's round trips while `blockers` tasks
// hold their workers for 1.5 s (`compute`: spinning; else a blocking system call).
void bench_blocked(const char* name, std::size_t workers, int blockers, bool compute) {
  if (!g_only.empty() && g_only != name) return;
  for (int r = 0; r < g_reps; ++r) {
    spindle::Runtime rt{spindle::Options{.workers = workers}};
    std::atomic<long> trips{0};
    const double worst = rt.block_on([&] {
      std::atomic<bool> stop{false};
      spindle::WaitGroup wg;
      pingpong_pair(stop, wg, &trips);
      for (int b = 0; b < blockers; ++b) {
        wg.spawn([compute] {
          if (compute) {
            compute_for(1500ms);
          } else {
            std::this_thread::sleep_for(1500ms);
          }
        });
      }
      double worst_ms = 0;
      const auto until = Steady::now() + 1400ms;
      while (Steady::now() < until) {
        const auto t0 = Steady::now();
        spindle::sleep_for(1ms);
        const double late =
            std::chrono::duration<double, std::milli>(Steady::now() - t0).count() - 1.0;
        worst_ms = std::max(worst_ms, late);
      }
      stop = true;
      wg.wait();
      return worst_ms;
    });
    emit((std::string(name) + "_worst_late").c_str(), static_cast<int>(workers), worst, "ms late");
    emit((std::string(name) + "_pingpong").c_str(), static_cast<int>(workers),
         static_cast<double>(trips.load()), "round trips in 1.4 s");
  }
}

// TCP echo against the runtime while `busy` tasks keep its `workers` workers busy (yielding
// every 20 us): a plain-thread client makes 100 round trips of 64 bytes; the worst round trip
// in ms, and how many were answered within 3 s each.
void bench_echo_busy(const char* name, std::size_t workers, int busy) {
  if (!g_only.empty() && g_only != name) return;
  for (int r = 0; r < g_reps; ++r) {
    spindle::Runtime rt{spindle::Options{.workers = workers}};
    std::atomic<bool> stop{false};
    std::atomic<std::uint16_t> port{0};
    double worst_ms = 0;
    int answered = 0;
    std::thread client([&] {
      while (port.load() == 0) std::this_thread::sleep_for(1ms);
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port.load());
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("connect");
        stop = true;
        return;
      }
      timeval tv{3, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[64] = {};
      for (int i = 0; i < 100; ++i) {
        const auto t0 = Steady::now();
        if (::send(fd, buf, sizeof buf, 0) != static_cast<ssize_t>(sizeof buf)) break;
        std::size_t got = 0;
        while (got < sizeof buf) {
          const ssize_t n = ::recv(fd, buf + got, sizeof buf - got, 0);
          if (n <= 0) break;
          got += static_cast<std::size_t>(n);
        }
        if (got < sizeof buf) break;
        ++answered;
        worst_ms = std::max(worst_ms,
                            std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
        std::this_thread::sleep_for(2ms);
      }
      ::close(fd);
      stop = true;
    });
    rt.block_on([&] {
      spindle::WaitGroup wg;
      for (int b = 0; b < busy; ++b) yield_load(stop, wg);
      auto listener = spindle::net::TcpListener::bind("127.0.0.1", 0);
      port = listener.port();
      auto conn = listener.accept();
      char buf[64];
      try {
        while (std::size_t n = conn.read_some(buf, sizeof buf)) conn.write_all(buf, n);
      } catch (const std::system_error&) {
      }
      stop = true;
      wg.wait();
    });
    client.join();
    emit((std::string(name) + "_worst_rtt").c_str(), static_cast<int>(workers), worst_ms, "ms",
         ", \"answered\": " + std::to_string(answered));
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--reps=", 7) == 0) g_reps = std::atoi(argv[i] + 7);
    if (std::strncmp(argv[i], "--window-ms=", 12) == 0) g_window_ms = std::atoi(argv[i] + 12);
    if (std::strncmp(argv[i], "--only=", 7) == 0) g_only = argv[i] + 7;
  }
  bench_wakeups("sleep1ms", [] { spindle::sleep_for(1ms); });
  bench_wakeups("after1ms", [] { (void)spindle::after(1ms).recv(); });
  bench_wakeups("ctx1ms", [] {
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 1ms);
    (void)ctx.done().recv();
  });
  bench_timers_100k();
  bench_blocked("blocked_syscall", 2, 2, false);
  bench_blocked("blocked_compute", 1, 1, true);
  bench_echo_busy("echo_busy_1w", 1, 1);
  bench_echo_busy("echo_busy_2w", 2, 2);
  return 0;
}
