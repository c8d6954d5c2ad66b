// SPDX-License-Identifier: Apache-2.0
// spindle::net over loopback: accept/connect/read/write from tasks and threads, IPv4 and
// IPv6, partial reads and writes, end of stream, peer reset, and errors that name the call.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;
using spindle::net::TcpListener;
using spindle::net::TcpStream;

namespace {

std::string read_all(TcpStream& s) {
  std::string out;
  char buf[1000];
  while (std::size_t n = s.read_some(buf, sizeof buf)) out.append(buf, n);
  return out;
}

TEST(NetTcp, EchoBetweenTwoTasks) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    const auto port = listener.port();
    EXPECT_NE(port, 0);
    auto server = spindle::spawn([&] {
      TcpStream conn = listener.accept();
      char buf[5];
      conn.read_exact(buf, sizeof buf);
      conn.write_all(std::string_view(buf, sizeof buf));
    });
    TcpStream client = TcpStream::connect("127.0.0.1", port);
    client.write_all("hello");
    char back[5];
    client.read_exact(back, sizeof back);
    EXPECT_EQ(std::string_view(back, 5), "hello");
    server.join();
    char one;
    EXPECT_EQ(client.read_some(&one, 1), 0u);  // the server closed: end of stream
  });
}

TEST(NetTcp, Ipv6LoopbackAndNames) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    TcpListener listener;
    try {
      listener = TcpListener::bind("::1", 0);
    } catch (const std::system_error& e) {
      GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
    }
    EXPECT_TRUE(listener.local_endpoint().is_v6());
    auto server = spindle::spawn([&] {
      TcpStream conn = listener.accept();
      EXPECT_EQ(conn.peer_endpoint().address(), "::1");
      conn.write_all("v6");
    });
    TcpStream client = TcpStream::connect("::1", listener.port());
    EXPECT_EQ(read_all(client), "v6");
    EXPECT_EQ(client.peer_endpoint().to_string(), "[::1]:" + std::to_string(listener.port()));
    server.join();
    // "localhost" goes through getaddrinfo on the blocking pool.
    auto any = TcpListener::bind("", 0);  // dual stack: IPv4 clients reach it too
    auto s2 = spindle::spawn([&] { any.accept().write_all("any"); });
    TcpStream c2 = TcpStream::connect("localhost", any.port());
    EXPECT_EQ(read_all(c2), "any");
    s2.join();
  });
}

TEST(NetTcp, PartialReadsAndWritesOfALargeTransfer) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    std::vector<unsigned char> data(8 << 20);
    std::iota(data.begin(), data.end(), static_cast<unsigned char>(0));
    auto writer = spindle::spawn([&] {
      TcpStream conn = listener.accept();
      conn.write_all(data.data(), data.size());  // far more than the socket buffers: waits
      conn.shutdown();
      char c;
      EXPECT_EQ(conn.read_some(&c, 1), 0u);
    });
    TcpStream client = TcpStream::connect("127.0.0.1", listener.port());
    std::vector<unsigned char> got;
    std::size_t reads = 0;
    unsigned char buf[1500];
    while (std::size_t n = client.read_some(buf, 1 + reads % sizeof buf)) {
      got.insert(got.end(), buf, buf + n);
      ++reads;
      if (reads % 256 == 0) spindle::yield();  // let the writer's buffer fill up
    }
    EXPECT_EQ(got.size(), data.size());
    EXPECT_TRUE(got == data);
    client.close();
    writer.join();
  });
}

TEST(NetTcp, ReadExactReportsUnexpectedEof) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    auto server = spindle::spawn([&] { listener.accept().write_all("abc"); });
    TcpStream client = TcpStream::connect("127.0.0.1", listener.port());
    char buf[10];
    try {
      client.read_exact(buf, sizeof buf);
      ADD_FAILURE() << "read_exact returned";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), spindle::net::errc::unexpected_eof);
      EXPECT_NE(std::string(e.what()).find("read_exact"), std::string::npos) << e.what();
    }
    server.join();
  });
}

TEST(NetTcp, PeerResetMidRequest) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    auto server = spindle::spawn([&] {
      TcpStream conn = listener.accept();
      char buf[100];
      EXPECT_EQ(conn.read_some(buf, 4), 4u);  // half a request, then the peer resets
      try {
        conn.read_exact(buf, sizeof buf);
        ADD_FAILURE() << "read after reset succeeded";
      } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::connection_reset) << e.what();
        EXPECT_NE(std::string(e.what()).find("read_some"), std::string::npos) << e.what();
      }
      try {
        for (int i = 0; i < 100; ++i) conn.write_all("response after reset\n");
        ADD_FAILURE() << "write after reset succeeded";
      } catch (const std::system_error& e) {
        EXPECT_TRUE(e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset)
            << e.what();
      }
    });
    TcpStream client = TcpStream::connect("127.0.0.1", listener.port());
    client.write_all("GET ");
    spindle::sleep_for(20ms);
    linger lg{1, 0};  // close with RST
    ASSERT_EQ(::setsockopt(client.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    client.close();
    server.join();
  });
}

TEST(NetTcp, ConnectRefusedNamesTheCall) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    std::uint16_t port;
    {
      auto l = TcpListener::bind("127.0.0.1", 0);
      port = l.port();
    }  // closed: nobody listens there now
    try {
      TcpStream::connect("127.0.0.1", port);
      ADD_FAILURE() << "connect succeeded";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::errc::connection_refused);
      EXPECT_NE(std::string(e.what()).find("TcpStream::connect"), std::string::npos) << e.what();
    }
  });
  EXPECT_THROW(spindle::net::Endpoint("not-an-address", 1), std::invalid_argument);
  TcpStream closed;
  char c;
  EXPECT_THROW(closed.read_some(&c, 1), std::system_error);
}

TEST(NetTcp, PlainThreadsAndTasksMix) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  auto listener = TcpListener::bind("127.0.0.1", 0);  // made on a plain thread
  auto server = rt.spawn([&] {
    for (int i = 0; i < 3; ++i) {
      TcpStream conn = listener.accept();  // used in a task
      char buf[3];
      conn.read_exact(buf, 3);
      conn.write_all(std::string_view(buf, 3));
    }
  });
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] {
      TcpStream c = TcpStream::connect("127.0.0.1", listener.port());  // blocking, on a thread
      const std::string msg = "ab" + std::to_string(i);
      c.write_all(msg);
      char buf[3];
      c.read_exact(buf, 3);
      EXPECT_EQ(std::string_view(buf, 3), msg);
    });
  }
  for (auto& t : clients) t.join();
  server.join();
}

TEST(NetTcp, AParkedSocketDoesNotHoldItsWorker) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    std::atomic<bool> accepted{false};
    auto acceptor = spindle::spawn([&] {
      TcpStream c = listener.accept();  // parks: the only worker stays free
      accepted = true;
    });
    int ticks = 0;
    for (; ticks < 5; ++ticks) spindle::sleep_for(1ms);
    EXPECT_FALSE(accepted.load());
    TcpStream c = TcpStream::connect("127.0.0.1", listener.port());
    acceptor.join();
    EXPECT_TRUE(accepted.load());
  });
}

TEST(NetTcp, SeveralTasksAcceptOnOneListener) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    std::atomic<int> served{0};
    std::vector<spindle::Task<void>> acceptors;
    for (int i = 0; i < 8; ++i) {
      acceptors.push_back(spindle::spawn([&] {
        listener.accept().write_all("!");  // all eight park on the same socket
        ++served;
      }));
    }
    spindle::sleep_for(5ms);
    for (int i = 0; i < 8; ++i) {
      TcpStream c = TcpStream::connect("127.0.0.1", listener.port());
      char x;
      c.read_exact(&x, 1);
    }
    for (auto& a : acceptors) a.join();
    EXPECT_EQ(served.load(), 8);
  });
}

TEST(NetTcp, ManyConcurrentConnectionsOnFewWorkers) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto listener = TcpListener::bind("127.0.0.1", 0);
    constexpr int kConns = 200;
    auto server = spindle::spawn([&] {
      std::vector<spindle::Task<void>> handlers;
      for (int i = 0; i < kConns; ++i) {
        handlers.push_back(spindle::spawn([conn = listener.accept()]() mutable {
          char buf[64];
          while (std::size_t n = conn.read_some(buf, sizeof buf)) conn.write_all(buf, n);
        }));
      }
      for (auto& h : handlers) h.join();
    });
    std::vector<spindle::Task<void>> clients;
    for (int i = 0; i < kConns; ++i) {
      clients.push_back(spindle::spawn([&, i] {
        TcpStream c = TcpStream::connect("127.0.0.1", listener.port());
        for (int round = 0; round < 10; ++round) {
          const std::string msg = std::to_string(i * 1000 + round);
          c.write_all(msg);
          std::string back(msg.size(), '\0');
          c.read_exact(back.data(), back.size());
          EXPECT_EQ(back, msg);
        }
      }));
    }
    for (auto& c : clients) c.join();
    server.join();
  });
}

}  // namespace
