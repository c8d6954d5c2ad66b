// SPDX-License-Identifier: Apache-2.0
// No file descriptor is left open after sockets, failed connects, cancelled waits, the
// poller and the runtime are gone (counted in /proc/self/fd); and a listener that ran out of
// descriptors (EMFILE) serves the connections waiting for it once some are free again.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <string_view>
#include <system_error>
#include <vector>

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

// Fills the descriptor table (under a soft limit lowered to a few above what is open) for
// its lifetime, then gives everything back.
class DescriptorsExhausted {
 public:
  DescriptorsExhausted() {
    ::getrlimit(RLIMIT_NOFILE, &old_);
    const int first = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (first < 0) return;
    fds_.push_back(first);
    rlimit low = old_;
    low.rlim_cur = std::min<rlim_t>(old_.rlim_cur, static_cast<rlim_t>(first) + 32);
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (;;) {
      const int fd = ::fcntl(first, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) {
        full_ = errno == EMFILE;
        break;
      }
      fds_.push_back(fd);
    }
  }
  ~DescriptorsExhausted() {
    for (int fd : fds_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &old_);
  }
  DescriptorsExhausted(const DescriptorsExhausted&) = delete;
  DescriptorsExhausted& operator=(const DescriptorsExhausted&) = delete;

  bool full() const { return full_; }

 private:
  rlimit old_{};
  std::vector<int> fds_;
  bool full_ = false;
};

TEST(NetFd, AcceptKeepsServingAfterRunningOutOfDescriptors) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    // Connected before the table fills: the kernel holds both in the listener's backlog.
    TcpStream a = TcpStream::connect("127.0.0.1", listener.port());
    TcpStream b = TcpStream::connect("127.0.0.1", listener.port());
    std::exception_ptr refused;
    // UndefinedBehaviorSanitizer checks the dynamic type of the exception the library builds,
    // and where its cache misses it probes memory through a pipe, which a full table refuses
    // (a false "invalid vptr"). One error built here first puts the type in that cache.
    try {
      throw std::system_error(EMFILE, std::system_category(), "warm-up");
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EMFILE);
    }
    {
      DescriptorsExhausted full;
      ASSERT_TRUE(full.full());
      try {
        (void)listener.accept();
      } catch (...) {
        refused = std::current_exception();
      }
    }
    // Looked at only now: a sanitizer's checks of the exception may need a descriptor.
    ASSERT_NE(refused, nullptr) << "accept succeeded with no descriptor free";
    try {
      std::rethrow_exception(refused);
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::error_code(EMFILE, std::system_category())) << e.what();
    }
    // Descriptors free again: both connections are served, in order, and work.
    for (TcpStream* client : {&a, &b}) {
      TcpStream served = listener.accept();
      client->write_all("ping");
      char buf[4];
      served.read_exact(buf, sizeof buf);
      served.write_all(buf, sizeof buf);
      client->read_exact(buf, sizeof buf);
      EXPECT_EQ(std::string_view(buf, sizeof buf), "ping");
    }
  });
}

}  // namespace
