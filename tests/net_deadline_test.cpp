// SPDX-License-Identifier: Apache-2.0
// Ending a socket wait early: stream deadlines, Context timeouts, cancellation of a parked
// read or accept (in tasks and on plain threads), and the deadlock detector staying quiet
// while a task waits for the network.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;
using spindle::net::TcpListener;
using spindle::net::TcpStream;

namespace {

struct Pair {
  TcpListener listener;
  TcpStream client;
  TcpStream server;
};

// A connected pair over loopback (works in a task or on a thread).
Pair connected_pair() {
  Pair p;
  p.listener = TcpListener::bind("127.0.0.1", 0);
  p.client = TcpStream::connect("127.0.0.1", p.listener.port());
  p.server = p.listener.accept();
  return p;
}

template <class F>
std::error_code error_of(F&& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code();
  }
  return {};
}

TEST(NetDeadline, ReadDeadlineExpires) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    Pair p = connected_pair();
    char c;
    const auto t0 = spindle::Clock::now();
    p.server.set_read_deadline(t0 + 50ms);
    EXPECT_EQ(error_of([&] { p.server.read_some(&c, 1); }), spindle::errc::deadline_exceeded);
    EXPECT_GE(spindle::Clock::now() - t0, 50ms);
    // A past deadline fails at once; clearing it makes reads work again.
    EXPECT_EQ(error_of([&] { p.server.read_some(&c, 1); }), spindle::errc::deadline_exceeded);
    p.server.set_read_deadline(std::nullopt);
    p.client.write_all("x");
    EXPECT_EQ(p.server.read_some(&c, 1), 1u);
  });
}

TEST(NetDeadline, ContextTimeoutEndsReadAndAccept) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    Pair p = connected_pair();
    // Not a structured binding: clang 14 cannot capture one in the lambdas below.
    auto timed = spindle::with_timeout(spindle::background(), 30ms);
    const spindle::Context& ctx = timed.ctx;
    auto& cancel = timed.cancel;
    char c;
    EXPECT_EQ(error_of([&] { p.server.read_some(&c, 1, ctx); }), spindle::errc::deadline_exceeded);
    EXPECT_EQ(error_of([&] { p.listener.accept(ctx); }), spindle::errc::deadline_exceeded);
    cancel();
  });
}

TEST(NetDeadline, CancelOfAParkedReadInATask) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    Pair p = connected_pair();
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    auto reader = spindle::spawn([&, ctx = ctx] {
      char c;
      std::error_code why = error_of([&] { p.server.read_some(&c, 1, ctx); });
      return why;
    });
    spindle::sleep_for(20ms);
    cancel();
    const std::error_code why = reader.join();
    EXPECT_EQ(why, spindle::errc::canceled);
    // The stream still works afterwards.
    p.client.write_all("y");
    char c;
    EXPECT_EQ(p.server.read_some(&c, 1), 1u);
    EXPECT_EQ(c, 'y');
  });
}

TEST(NetDeadline, CancelOfAParkedWrite) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    Pair p = connected_pair();
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    auto writer = spindle::spawn([&, ctx = ctx] {
      std::string big(64 << 20, 'z');  // nobody reads: the buffers fill and write_all parks
      return error_of([&] { p.server.write_all(big, ctx); });
    });
    spindle::sleep_for(50ms);
    cancel();
    EXPECT_EQ(writer.join(), spindle::errc::canceled);
  });
}

TEST(NetDeadline, CancelOfABlockedReadOnAPlainThread) {
  Pair p = connected_pair();  // no runtime at all
  auto [ctx, cancel] = spindle::with_cancel(spindle::background());
  std::error_code why;
  std::thread reader([&, ctx = ctx] {
    char c;
    why = error_of([&] { p.server.read_some(&c, 1, ctx); });
  });
  std::this_thread::sleep_for(20ms);
  cancel();
  reader.join();
  EXPECT_EQ(why, spindle::errc::canceled);
  char c;
  p.server.set_read_deadline(spindle::Clock::now() + 20ms);
  EXPECT_EQ(error_of([&] { p.server.read_some(&c, 1); }), spindle::errc::deadline_exceeded);
}

TEST(NetDeadline, ShutdownWakesAParkedReader) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    Pair p = connected_pair();
    auto reader = spindle::spawn([&] {
      char c;
      return p.server.read_some(&c, 1);
    });
    spindle::sleep_for(10ms);
    p.server.shutdown(spindle::net::Shutdown::read);
    EXPECT_EQ(reader.join(), 0u);
  });
}

TEST(NetDeadline, NoDeadlockReportWhileATaskWaitsForTheNetwork) {
  spindle::Runtime rt{spindle::Options{.workers = 2, .deadlock_after = 50ms}};
  auto listener = TcpListener::bind("127.0.0.1", 0);
  const auto port = listener.port();
  std::thread late_client([port] {
    std::this_thread::sleep_for(300ms);  // not inside any spindle call meanwhile
    TcpStream c = TcpStream::connect("127.0.0.1", port);
    c.write_all("late");
  });
  std::string got = rt.block_on([&] {
    TcpStream s = listener.accept();  // no timer pending, every worker idle: not a deadlock
    std::string out(4, '\0');
    s.read_exact(out.data(), out.size());
    return out;
  });
  late_client.join();
  EXPECT_EQ(got, "late");
}

TEST(NetDeadline, TeardownUnwindsATaskParkedOnASocket) {
  auto listener = TcpListener::bind("127.0.0.1", 0);
  {
    spindle::Runtime rt{spindle::Options{.workers = 1, .on_leak = spindle::LeakPolicy::ignore}};
    rt.spawn([&] { listener.accept(); }).detach();  // parks forever
    std::this_thread::sleep_for(20ms);
  }  // ~Runtime unwinds it: its wait is undone, nothing dangles
  EXPECT_TRUE(listener.is_open());
}

}  // namespace
