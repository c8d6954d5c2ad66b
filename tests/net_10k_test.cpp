// SPDX-License-Identifier: Apache-2.0
// 10,000 concurrent loopback connections, each served by its own task on two workers, all
// open at once. The clients live in a forked child (plain blocking sockets, no spindle), so
// each process needs only 10,000 descriptors.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "spindle/spindle.hpp"
#include "tests/support/sanitizer_scale.hpp"

using spindle::net::TcpListener;

namespace {

// TSan counts every fiber as a thread (limit 8128).
constexpr int kWanted = spindle_test::kUnderTsan ? 4000 : 10000;

// Raises the soft fd limit to the hard one; returns how many connections fit.
int connections_that_fit(int wanted) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  const long fit = static_cast<long>(lim.rlim_cur) - 100;
  return fit < wanted ? static_cast<int>(fit) : wanted;
}

// The child: connects n sockets, sends "ping" on each once all are open, reads each echo,
// then reports over `report` and exits (closing everything).
[[noreturn]] void run_clients(std::uint16_t port, int n, int report) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> fds;
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) break;
    fds.push_back(fd);
  }
  for (int fd : fds) (void)!::write(fd, "ping", 4);
  for (int fd : fds) {
    char buf[4];
    std::size_t got = 0;
    while (got < 4) {
      const ssize_t r = ::read(fd, buf + got, 4 - got);
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    if (got == 4 && std::memcmp(buf, "ping", 4) == 0) ++ok;
  }
  (void)!::write(report, &ok, sizeof ok);
  ::_exit(0);
}

TEST(Net10k, TenThousandConcurrentConnections) {
  const int n = connections_that_fit(kWanted);
  if (n < kWanted) std::fprintf(stderr, "fd limit: testing %d connections\n", n);
  auto listener = TcpListener::bind("127.0.0.1", 0, 16384);
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t child = ::fork();  // before the runtime: the child has no spindle threads
  ASSERT_GE(child, 0);
  if (child == 0) run_clients(listener.port(), n, report[1]);
  ::close(report[1]);

  spindle::Runtime rt{spindle::Options{.workers = 2, .stack_size = 64 * 1024}};
  std::atomic<int> open_at_once{0}, most{0};
  listener.set_deadline(spindle::Clock::now() + std::chrono::seconds(120));  // never hang
  rt.block_on([&] {
    spindle::WaitGroup served;
    served.add(n);
    for (int i = 0; i < n; ++i) {
      spindle::spawn([&, c = listener.accept()]() mutable {
        const int now = ++open_at_once;
        for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
        }
        char buf[16];
        // Echo until the client closes: the child closes only after every echo came back.
        while (std::size_t k = c.read_some(buf, sizeof buf)) c.write_all(buf, k);
        --open_at_once;
        served.done();
      }).detach();
    }
    served.wait();
  });
  int ok = 0;
  ASSERT_EQ(::read(report[0], &ok, sizeof ok), static_cast<ssize_t>(sizeof ok));
  ::close(report[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(ok, n);
  EXPECT_EQ(most.load(), n);  // every connection was open (and its task parked) at once
}

}  // namespace
