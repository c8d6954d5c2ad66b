// 10,000 concurrent loopback connections, each served by its own task, all open at once
// (20,000 sockets in this process), on two workers.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "spindle/spindle.hpp"

using spindle::net::TcpListener;
using spindle::net::TcpStream;

namespace {

// Raises the fd limit (past the hard one where privileged, else to the hard one); returns how
// many connections fit (each needs two fds here, plus headroom).
int connections_that_fit(int wanted) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  const rlim_t need = static_cast<rlim_t>(wanted) * 2 + 500;
  rlimit more{need, need > lim.rlim_max ? need : lim.rlim_max};
  if (lim.rlim_cur < need && ::setrlimit(RLIMIT_NOFILE, &more) != 0) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  ::getrlimit(RLIMIT_NOFILE, &lim);
  const long fit = (static_cast<long>(lim.rlim_cur) - 200) / 2;
  return fit < wanted ? static_cast<int>(fit) : wanted;
}

TEST(Net10k, TenThousandConcurrentConnections) {
  const int n = connections_that_fit(10000);
  if (n < 10000) std::fprintf(stderr, "fd limit: testing %d connections\n", n);
  spindle::Runtime rt{spindle::Options{.workers = 2, .stack_size = 64 * 1024}};
  rt.block_on([n] {
    auto listener = TcpListener::bind("127.0.0.1", 0, 16384);
    spindle::WaitGroup served;
    served.add(n);
    auto acceptor = spindle::spawn([&] {
      for (int i = 0; i < n; ++i) {
        spindle::spawn([&served, c = listener.accept()]() mutable {
          char buf[16];
          // Echo until the client closes: every connection stays open until all are.
          while (std::size_t k = c.read_some(buf, sizeof buf)) c.write_all(buf, k);
          served.done();
        }).detach();
      }
    });
    std::vector<TcpStream> clients;
    clients.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) clients.push_back(TcpStream::connect("127.0.0.1", listener.port()));
    acceptor.join();
    // All n connections are open now; a round trip on each proves every handler is alive.
    for (auto& c : clients) c.write_all("ping");
    for (auto& c : clients) {
      char buf[4];
      c.read_exact(buf, 4);
      ASSERT_EQ(std::string_view(buf, 4), "ping");
    }
    clients.clear();  // closes: every handler sees end of stream
    served.wait();
  });
}

}  // namespace
