// SPDX-License-Identifier: Apache-2.0
// No file descriptor is left open after sockets, failed connects, cancelled waits, the
// poller and the runtime are gone (counted in /proc/self/fd).
#include <dirent.h>
#include <gtest/gtest.h>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;
using spindle::net::TcpListener;
using spindle::net::TcpStream;

namespace {

int open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the directory stream itself
}

TEST(NetFd, NothingLeftOpenAfterARuntimeFullOfSockets) {
  const int before = open_fds();
  {
    spindle::Runtime rt{spindle::Options{.workers = 2}};
    rt.block_on([] {
      auto listener = TcpListener::bind("127.0.0.1", 0);
      std::vector<spindle::Task<void>> servers;
      for (int i = 0; i < 50; ++i) {
        servers.push_back(spindle::spawn([&] {
          TcpStream s = listener.accept();
          char buf[8];
          while (s.read_some(buf, sizeof buf) != 0) {
          }
        }));
      }
      for (int i = 0; i < 50; ++i) {
        TcpStream c = TcpStream::connect("127.0.0.1", listener.port());
        c.write_all("bye");
        if (i % 2 == 0) c.shutdown();
      }
      for (auto& s : servers) s.join();
      // Failed connects and cancelled waits close what they opened.
      const auto port = listener.port();
      listener.close();
      EXPECT_THROW(TcpStream::connect("127.0.0.1", port), std::system_error);
      auto l2 = TcpListener::bind("127.0.0.1", 0);
      auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 5ms);
      EXPECT_THROW(l2.accept(ctx), std::system_error);
      cancel();
      (void)spindle::fs::read_file("/proc/self/status");
      EXPECT_THROW(spindle::fs::read_file("/no/such/file"), std::system_error);
    });
    EXPECT_GT(open_fds(), before);  // the poller's epoll and eventfd live with the runtime
  }
  EXPECT_EQ(open_fds(), before);
}

}  // namespace
