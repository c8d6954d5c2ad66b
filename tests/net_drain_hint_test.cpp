// SPDX-License-Identifier: Apache-2.0
// A task's read right after a short read parks without trying recv while no readiness edge
// has come since (PollDesc::read_drained). These tests pin down the cases where that shortcut
// would wait forever if it trusted the short read too far: data that arrives later, and an
// end of stream (or reset) that arrived with, or right behind, the data the short read took.
// Each read runs under a deadline, so a missed wake-up fails the test instead of hanging it.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <string>
#include <thread>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;
using spindle::net::TcpListener;
using spindle::net::TcpStream;

namespace {

// The peer side on a plain thread, so its timing does not depend on the runtime's workers.
void send_raw(int fd, std::string_view data) {
  ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
}

// The server's first read parks (so the socket joins the netpoller) and gets "x"; then
// "abc" arrives and the peer ends the connection with `end_peer(fd)`, while the server
// sleeps and an idle worker collects the edges. `check(conn, ctx)` then does the reads: the
// first is short and leaves the socket empty up to an ending that brings no further edge.
template <class EndPeer, class Check>
void after_a_short_read(EndPeer end_peer, Check check) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([&] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    std::atomic<bool> first_read_parked{false};
    std::thread peer([&, port = listener.port()] {
      TcpStream c = TcpStream::connect("127.0.0.1", port);
      while (!first_read_parked.load()) std::this_thread::sleep_for(1ms);
      std::this_thread::sleep_for(20ms);  // the server's read is parked in the netpoller now
      send_raw(c.native_handle(), "x");
      std::this_thread::sleep_for(20ms);
      send_raw(c.native_handle(), "abc");
      end_peer(c);
    });
    TcpStream conn = listener.accept();
    char one;
    first_read_parked.store(true);
    EXPECT_EQ(conn.read_some(&one, 1), 1u);
    spindle::sleep_for(100ms);
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 5s);
    check(conn, ctx);
    peer.join();
  });
}

TEST(NetDrainHint, EndOfStreamBehindAShortReadIsSeen) {
  after_a_short_read([](TcpStream& peer) { peer.close(); },  // FIN right behind the data
                     [](TcpStream& conn, const spindle::Context& ctx) {
                       char buf[64];
                       EXPECT_EQ(conn.read_some(buf, sizeof buf, ctx), 3u);
                       EXPECT_EQ(std::string_view(buf, 3), "abc");
                       // End of stream, not a timeout.
                       EXPECT_EQ(conn.read_some(buf, sizeof buf, ctx), 0u);
                     });
}

TEST(NetDrainHint, ResetBehindAShortReadIsSeen) {
  after_a_short_read(
      [](TcpStream& peer) {
        std::this_thread::sleep_for(20ms);
        linger lg{1, 0};  // close with RST
        ASSERT_EQ(::setsockopt(peer.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
        peer.close();
      },
      [](TcpStream& conn, const spindle::Context& ctx) {
        char buf[64];
        try {
          // Linux may hand over "abc" first or report the reset at once; either way the
          // reset must end the reads, never the deadline.
          if (conn.read_some(buf, sizeof buf, ctx) == 3u) conn.read_some(buf, sizeof buf, ctx);
          ADD_FAILURE() << "a read after the reset succeeded";
        } catch (const std::system_error& e) {
          EXPECT_EQ(e.code(), std::errc::connection_reset) << e.what();
        }
      });
}

TEST(NetDrainHint, DataArrivingAfterShortReadsWakesTheReader) {
  constexpr int kMessages = 300;
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    std::thread peer([port = listener.port()] {
      TcpStream c = TcpStream::connect("127.0.0.1", port);
      for (int i = 0; i < kMessages; ++i) {
        send_raw(c.native_handle(), "0123456789");
        // A mix of back-to-back sends (the reader finds more data) and gaps (it parks).
        if (i % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200 + 37 * (i % 7)));
      }
      c.close();
    });
    TcpStream conn = listener.accept();
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 20s);
    std::size_t total = 0;
    char buf[4096];
    while (std::size_t n = conn.read_some(buf, sizeof buf, ctx)) total += n;
    EXPECT_EQ(total, std::size_t{10} * kMessages);
    peer.join();
  });
}

TEST(NetDrainHint, ExchangesOnOneConnectionNeverStall) {
  // Request-response, the pattern the shortcut is for: every read but the first is short.
  constexpr int kRounds = 2000;
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    auto server = spindle::spawn([&] {
      TcpStream conn = listener.accept();
      auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 20s);
      char buf[256];
      while (std::size_t n = conn.read_some(buf, sizeof buf, ctx)) conn.write_all(buf, n, ctx);
    });
    TcpStream client = TcpStream::connect("127.0.0.1", listener.port());
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 20s);
    char back[8];
    for (int i = 0; i < kRounds; ++i) {
      client.write_all("ping-pon", ctx);
      client.read_exact(back, sizeof back, ctx);
      ASSERT_EQ(std::string_view(back, sizeof back), "ping-pon");
    }
    client.close();
    server.join();
  });
}

}  // namespace
