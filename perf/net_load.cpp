// SPDX-License-Identifier: Apache-2.0
// spindle_net_load: the load generator of perf/net_bench.sh, written with spindle::net.
//
//   spindle_net_load echo PORT CONNS SECONDS [BYTES]   closed-loop echo round trips on CONNS
//       connections for SECONDS; prints one JSON line: round trips/s, p50/p99 latency (us)
//   spindle_net_load idle PORT CONNS SECONDS           opens CONNS connections and holds them
//       SECONDS (the script reads the server's RSS meanwhile); prints one JSON line
//
// SPINDLE_WORKERS sets its worker threads, as for the servers.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "spindle/spindle.hpp"

namespace {

using spindle::net::TcpStream;

void raise_fd_limit() {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

int echo(std::uint16_t port, int conns, double seconds, std::size_t bytes) {
  spindle::Runtime rt;
  return rt.block_on([&] {
    std::vector<std::vector<std::uint32_t>> lat(static_cast<std::size_t>(conns));
    std::vector<spindle::Task<void>> tasks;
    std::vector<TcpStream> streams;
    for (int i = 0; i < conns; ++i) streams.push_back(TcpStream::connect("127.0.0.1", port));
    const auto start = spindle::Clock::now();
    const auto end = start + std::chrono::duration_cast<spindle::Clock::duration>(
                                 std::chrono::duration<double>(seconds));
    for (int i = 0; i < conns; ++i) {
      tasks.push_back(spindle::spawn([&, i] {
        std::string msg(bytes, 'x'), back(bytes, '\0');
        auto& mine = lat[static_cast<std::size_t>(i)];
        TcpStream& s = streams[static_cast<std::size_t>(i)];
        for (auto t0 = spindle::Clock::now(); t0 < end;) {
          s.write_all(msg);
          s.read_exact(back.data(), back.size());
          const auto t1 = spindle::Clock::now();
          mine.push_back(static_cast<std::uint32_t>((t1 - t0).count() / 1000));
          t0 = t1;
        }
      }));
    }
    for (auto& t : tasks) t.join();
    const double elapsed = std::chrono::duration<double>(spindle::Clock::now() - start).count();
    std::vector<std::uint32_t> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    if (all.empty()) return 1;
    std::sort(all.begin(), all.end());
    std::printf(
        "{\"mode\":\"echo\",\"conns\":%d,\"bytes\":%zu,\"seconds\":%.2f,\"round_trips\":%zu,"
        "\"per_sec\":%.0f,\"p50_us\":%u,\"p99_us\":%u}\n",
        conns, bytes, elapsed, all.size(), static_cast<double>(all.size()) / elapsed,
        all[all.size() / 2], all[all.size() * 99 / 100]);
    return 0;
  });
}

int idle(std::uint16_t port, int conns, double seconds) {
  spindle::Runtime rt;
  return rt.block_on([&] {
    std::vector<TcpStream> streams;
    for (int i = 0; i < conns; ++i) streams.push_back(TcpStream::connect("127.0.0.1", port));
    std::printf("{\"mode\":\"idle\",\"conns\":%d}\n", conns);
    std::fflush(stdout);
    spindle::sleep_for(std::chrono::duration<double>(seconds));
    return 0;
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: %s echo PORT CONNS SECONDS [BYTES]\n       %s idle PORT CONNS SECONDS\n",
                 argv[0], argv[0]);
    return 2;
  }
  raise_fd_limit();
  const auto port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  const int conns = std::atoi(argv[3]);
  const double seconds = std::atof(argv[4]);
  if (std::strcmp(argv[1], "echo") == 0) {
    return echo(port, conns, seconds, argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 64);
  }
  if (std::strcmp(argv[1], "idle") == 0) return idle(port, conns, seconds);
  std::fprintf(stderr, "%s: unknown mode '%s'\n", argv[0], argv[1]);
  return 2;
}
