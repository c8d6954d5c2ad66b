// SPDX-License-Identifier: Apache-2.0
// The choice of I/O backend (SPINDLE_IO and the io_uring probe), what Runtime::diagnostics()
// says of it, the fallback to epoll where the kernel refuses io_uring (a child process under a
// seccomp filter that denies io_uring_setup), and a close that must reach the peer while the
// socket is registered with the backend. Like every net test, this file also runs with
// SPINDLE_IO=io_uring (tests/CMakeLists.txt).
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "runtime/io_choice.hpp"
#include "spindle/spindle.hpp"

using spindle::detail::choose_io_backend;
using spindle::detail::IoBackendKind;
using spindle::detail::IoUringProbe;
using spindle::net::TcpListener;
using spindle::net::TcpStream;

namespace {

// Set in the children the fallback test starts: they run FallbackChild.* under the filter
// (ctest does not list the *Child suites: tests/CMakeLists.txt).
constexpr const char* kChildEnv = "SPINDLE_TEST_IO_FALLBACK_CHILD";
// Exit statuses of a child that could not be set up: no seccomp filter here (a container may
// forbid them; the test is then skipped), or no exec.
constexpr int kNoSeccomp = 90;
constexpr int kNoExec = 91;

std::string message_of(const char* env, const IoUringProbe& probe) {
  try {
    (void)choose_io_backend(env, probe);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(IoBackendChoice, EpollIsTheDefaultAndSaysWhetherIoUringCouldRun) {
  const IoUringProbe usable{true, {}};
  const IoUringProbe refused{false, "io_uring_setup: Operation not permitted"};
  auto c = choose_io_backend(nullptr, usable);
  EXPECT_EQ(c.kind, IoBackendKind::epoll);
  EXPECT_NE(c.why.find("io_uring usable"), std::string::npos) << c.why;
  c = choose_io_backend("", refused);
  EXPECT_EQ(c.kind, IoBackendKind::epoll);
  EXPECT_NE(c.why.find("unusable: io_uring_setup: Operation not permitted"), std::string::npos)
      << c.why;
}

TEST(IoBackendChoice, SpindleIoForcesEitherBackend) {
  const IoUringProbe usable{true, {}};
  EXPECT_EQ(choose_io_backend("epoll", usable).kind, IoBackendKind::epoll);
  EXPECT_EQ(choose_io_backend("epoll", IoUringProbe{false, "no"}).kind, IoBackendKind::epoll);
  const auto c = choose_io_backend("io_uring", usable);
  EXPECT_EQ(c.kind, IoBackendKind::io_uring);
  EXPECT_EQ(c.why, "SPINDLE_IO=io_uring");
}

TEST(IoBackendChoice, ForcingIoUringWhereItCannotRunIsAClearError) {
  const std::string msg =
      message_of("io_uring", IoUringProbe{false, "io_uring_setup: Function not implemented"});
  EXPECT_NE(msg.find("SPINDLE_IO=io_uring"), std::string::npos) << msg;
  EXPECT_NE(msg.find("io_uring_setup: Function not implemented"), std::string::npos) << msg;
}

TEST(IoBackendChoice, UnknownValuesAreRefused) {
  const std::string msg = message_of("kqueue", IoUringProbe{true, {}});
  EXPECT_NE(msg.find("SPINDLE_IO=kqueue"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'epoll' or 'io_uring'"), std::string::npos) << msg;
}

TEST(IoBackendChoice, DiagnosticsNameTheBackendInUse) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  const std::string d = rt.diagnostics();
  const char* env = std::getenv("SPINDLE_IO");
  const std::string forced = env != nullptr ? env : "";
  if (forced == "io_uring") {
    EXPECT_NE(d.find("io=io_uring (SPINDLE_IO=io_uring)"), std::string::npos) << d;
  } else if (forced == "epoll") {
    EXPECT_NE(d.find("io=epoll (SPINDLE_IO=epoll)"), std::string::npos) << d;
  } else {
    EXPECT_NE(d.find("io=epoll (default; io_uring "), std::string::npos) << d;
  }
}

// ---------------------------------------------------------------------------------------
// Fallback: a process whose seccomp filter makes io_uring_setup fail with EPERM, as
// container runtimes and hardened kernels do.
// ---------------------------------------------------------------------------------------

// Runs this executable again, filtered, with only `test` selected and SPINDLE_IO = `io`
// (nullptr: unset). Returns the child's exit status.
int run_filtered_child(const char* test, const char* io) {
  char exe[4096];
  const ssize_t len = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) return -1;
  exe[len] = '\0';
  const std::string filter = std::string("--gtest_filter=") + test;
  char* argv[] = {exe, const_cast<char*>(filter.c_str()), nullptr};
  // Everything the child needs is prepared before fork: after it, only system calls.
  sock_filter insns[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof insns / sizeof insns[0]), insns};
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (io != nullptr) {
      ::setenv("SPINDLE_IO", io, 1);
    } else {
      ::unsetenv("SPINDLE_IO");
    }
    ::setenv("SPINDLE_TEST_EXPECT_IO_REFUSAL", "1", 1);  // test main(): do not skip
    ::setenv(kChildEnv, "1", 1);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kNoSeccomp);
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) ::_exit(kNoSeccomp);
    ::execv(exe, argv);
    ::_exit(kNoExec);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// In the filtered child: the probe reports the refusal, the runtime falls back to epoll and
// says why, and sockets work.
TEST(FallbackChild, EpollWhenIoUringIsRefused) {
  if (std::getenv(kChildEnv) == nullptr) GTEST_SKIP() << "run by IoBackendFallback only";
  const IoUringProbe probe = spindle::detail::probe_io_uring();
  EXPECT_FALSE(probe.usable);
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  const std::string d = rt.diagnostics();
  EXPECT_NE(d.find("io=epoll (default; io_uring unusable: "), std::string::npos) << d;
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    auto server = spindle::spawn([&] {
      TcpStream s = listener.accept();
      char c;
      s.read_exact(&c, 1);
      s.write_all(&c, 1);
    });
    TcpStream c = TcpStream::connect("127.0.0.1", listener.port());
    c.write_all("x");
    char back = 0;
    c.read_exact(&back, 1);
    EXPECT_EQ(back, 'x');
    server.join();
  });
}

// In the filtered child with SPINDLE_IO=io_uring: the runtime refuses to start, saying why.
TEST(FallbackChild, ForcedIoUringThrows) {
  if (std::getenv(kChildEnv) == nullptr) GTEST_SKIP() << "run by IoBackendFallback only";
  try {
    spindle::Runtime rt{spindle::Options{.workers = 1}};
    ADD_FAILURE() << "the runtime started: " << rt.diagnostics();
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("SPINDLE_IO=io_uring, but io_uring cannot be used here"), std::string::npos)
        << msg;
  }
}

TEST(IoBackendFallback, SeccompRefusalFallsBackToEpoll) {
  const int status = run_filtered_child("FallbackChild.EpollWhenIoUringIsRefused", nullptr);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  if (WEXITSTATUS(status) == kNoSeccomp) GTEST_SKIP() << "no seccomp filters here";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(IoBackendFallback, SeccompRefusalWithIoUringForcedFails) {
  const int status = run_filtered_child("FallbackChild.ForcedIoUringThrows", "io_uring");
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  if (WEXITSTATUS(status) == kNoSeccomp) GTEST_SKIP() << "no seccomp filters here";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---------------------------------------------------------------------------------------
// Closing a socket the backend watches (io_uring's poll requests hold the file).
// ---------------------------------------------------------------------------------------

TEST(IoBackendClose, PeerSeesEndOfStreamWhenAWatchedSocketCloses) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    for (int i = 0; i < 20; ++i) {
      auto server = spindle::spawn([&] {
        TcpStream s = listener.accept();
        char c;
        s.read_exact(&c, 1);  // parks first: the socket is registered with the backend
        s.close();
      });
      TcpStream c = TcpStream::connect("127.0.0.1", listener.port());
      spindle::sleep_for(std::chrono::milliseconds(1));
      c.write_all("x");
      server.join();
      char buf[4];
      EXPECT_EQ(c.read_some(buf, sizeof buf), 0u);  // hangs if the close did not reach the peer
    }
  });
}

TEST(IoBackendClose, ASocketMovesFromOneRuntimeToAnother) {
  auto listener = TcpListener::bind("127.0.0.1", 0);
  TcpStream client;
  TcpStream server;
  // Both alive at once: the first runtime's backend must let go of the socket when the
  // second one takes it, or the close below would not reach the peer.
  spindle::Runtime first{spindle::Options{.workers = 1}};
  spindle::Runtime second{spindle::Options{.workers = 1}};
  {
    first.block_on([&] {
      auto accepted = spindle::spawn([&] { server = listener.accept(); });
      client = TcpStream::connect("127.0.0.1", listener.port());
      accepted.join();
      auto reader = spindle::spawn([&] {
        char c;
        server.read_exact(&c, 1);  // registered with the first runtime's poller
      });
      spindle::sleep_for(std::chrono::milliseconds(1));
      client.write_all("a");
      reader.join();
    });
  }
  second.block_on([&] {
    auto reader = spindle::spawn([&] {
      char c;
      server.read_exact(&c, 1);  // registered with the second one now
      EXPECT_EQ(c, 'b');
      server.close();
    });
    spindle::sleep_for(std::chrono::milliseconds(1));
    client.write_all("b");
    reader.join();
    char buf[4];
    EXPECT_EQ(client.read_some(buf, sizeof buf), 0u);
  });
}

}  // namespace
