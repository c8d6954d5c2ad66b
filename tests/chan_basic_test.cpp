// SPDX-License-Identifier: Apache-2.0
// Deterministic tests of every channel rule: rendezvous, buffering, nil channels, the
// non-blocking forms, close, views, move-only values, lifetime, and plain-thread use.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

template <class C>
concept CanSend = requires(C c) {
  c.send(1);
};
template <class C>
concept CanClose = requires(C c) {
  c.close();
};
template <class C>
concept CanRecv = requires(C c) {
  c.recv();
};

spindle::Options two_workers() { return spindle::Options{.workers = 2}; }

TEST(ChanBasic, UnbufferedSendWaitsForReceiver) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<int> ch;
    std::atomic<bool> sent{false};
    auto t = spindle::spawn([&] {
      ch.send(7);
      sent = true;
    });
    spindle::sleep_for(20ms);
    EXPECT_FALSE(sent.load());  // no receiver yet: the sender is still waiting
    EXPECT_EQ(ch.recv(), 7);
    t.join();
    EXPECT_TRUE(sent.load());
  });
}

TEST(ChanBasic, UnbufferedRecvWaitsForSender) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<std::string> ch;
    auto t = spindle::spawn([&] { return ch.recv(); });
    spindle::sleep_for(10ms);
    EXPECT_FALSE(t.done());
    ch.send("hello");
    EXPECT_EQ(t.join(), "hello");
  });
}

TEST(ChanBasic, BufferedIsFifoAndFillsToCapacity) {
  spindle::Chan<int> ch(3);
  EXPECT_EQ(ch.capacity(), 3u);
  EXPECT_TRUE(ch.try_send(1));
  EXPECT_TRUE(ch.try_send(2));
  EXPECT_TRUE(ch.try_send(3));
  EXPECT_EQ(ch.size(), 3u);
  EXPECT_FALSE(ch.try_send(4));  // full
  EXPECT_EQ(ch.try_recv(), 1);
  EXPECT_TRUE(ch.try_send(4));
  EXPECT_EQ(ch.recv(), 2);
  EXPECT_EQ(ch.recv(), 3);
  EXPECT_EQ(ch.recv(), 4);
  EXPECT_EQ(ch.size(), 0u);
  EXPECT_EQ(ch.try_recv(), std::nullopt);
}

TEST(ChanBasic, CapacityOneWrapsManyTimes) {
  spindle::Chan<int> ch(1);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ch.try_send(i));
    ASSERT_FALSE(ch.try_send(-1));
    ASSERT_EQ(ch.try_recv(), i);
    ASSERT_EQ(ch.try_recv(), std::nullopt);
  }
}

TEST(ChanBasic, BufferedSendBlocksWhenFull) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<int> ch(1);
    ch.send(1);
    auto t = spindle::spawn([&] { ch.send(2); });
    spindle::sleep_for(10ms);
    EXPECT_FALSE(t.done());
    EXPECT_EQ(ch.recv(), 1);
    t.join();
    EXPECT_EQ(ch.recv(), 2);
  });
}

TEST(ChanBasic, UnbufferedTryOpsNeedAWaitingPartner) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<int> ch;
    EXPECT_FALSE(ch.try_send(1));
    EXPECT_EQ(ch.try_recv(), std::nullopt);
    EXPECT_EQ(ch.size(), 0u);
    EXPECT_EQ(ch.capacity(), 0u);
    auto r = spindle::spawn([&] { return ch.recv(); });
    while (!ch.try_send(5)) spindle::yield();
    EXPECT_EQ(r.join(), 5);
    auto s = spindle::spawn([&] { ch.send(6); });
    std::optional<int> v;
    while (!(v = ch.try_recv())) spindle::yield();
    EXPECT_EQ(v, 6);
    s.join();
  });
}

TEST(ChanBasic, TrySendConsumesOnlyOnSuccess) {
  spindle::Chan<std::unique_ptr<int>> ch(1);
  auto a = std::make_unique<int>(1);
  auto b = std::make_unique<int>(2);
  EXPECT_TRUE(ch.try_send(std::move(a)));
  EXPECT_EQ(a, nullptr);
  EXPECT_FALSE(ch.try_send(std::move(b)));  // full: b is untouched
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(*b, 2);
  spindle::Chan<std::unique_ptr<int>> unbuf;
  EXPECT_FALSE(unbuf.try_send(std::move(b)));  // no receiver
  ASSERT_NE(b, nullptr);
}

TEST(ChanBasic, CloseDrainsThenReportsClosed) {
  spindle::Chan<int> ch(4);
  ch.send(1);
  ch.send(2);
  ch.close();
  EXPECT_EQ(ch.recv(), 1);
  EXPECT_EQ(ch.try_recv(), 2);
  EXPECT_EQ(ch.recv(), std::nullopt);
  EXPECT_EQ(ch.try_recv(), std::nullopt);
}

TEST(ChanBasic, SendOnClosedThrowsChannelClosed) {
  spindle::Chan<int> ch(4);
  ch.close();
  try {
    ch.send(1);
    FAIL() << "send on a closed channel must throw";
  } catch (const spindle::ChannelClosed& e) {
    EXPECT_STREQ(e.what(), "spindle::Chan::send: send on closed channel");
  }
  EXPECT_THROW(ch.try_send(1), spindle::ChannelClosed);
  spindle::Chan<int> unbuf;
  unbuf.close();
  EXPECT_THROW(unbuf.send(1), spindle::ChannelClosed);
  EXPECT_THROW(unbuf.try_send(1), spindle::ChannelClosed);
  EXPECT_EQ(unbuf.recv(), std::nullopt);
}

TEST(ChanBasic, ExceptionHierarchy) {
  static_assert(std::is_base_of_v<spindle::ChannelError, spindle::ChannelClosed>);
  static_assert(std::is_base_of_v<std::logic_error, spindle::ChannelError>);
  spindle::Chan<int> ch;
  ch.close();
  EXPECT_THROW(ch.send(1), std::logic_error);
}

TEST(ChanBasic, DoubleCloseAndNilCloseThrowChannelError) {
  spindle::Chan<int> ch(1);
  ch.close();
  try {
    ch.close();
    FAIL() << "closing twice must throw";
  } catch (const spindle::ChannelError& e) {
    EXPECT_STREQ(e.what(), "spindle::Chan::close: close of closed channel");
    EXPECT_EQ(dynamic_cast<const spindle::ChannelClosed*>(&e), nullptr);
  }
  spindle::Chan<int> nil(nullptr);
  try {
    nil.close();
    FAIL() << "closing nil must throw";
  } catch (const spindle::ChannelError& e) {
    EXPECT_STREQ(e.what(), "spindle::Chan::close: close of nil channel");
  }
  spindle::SendChan<int> nil_view;
  EXPECT_THROW(nil_view.close(), spindle::ChannelError);
  spindle::Chan<int> u;
  u.close();
  EXPECT_THROW(u.close(), spindle::ChannelError);
}

TEST(ChanBasic, CloseWakesEveryWaiter) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    auto blocked_sender = [](spindle::Chan<int> ch) {
      return spindle::spawn([ch] {
        try {
          ch.send(1);
          return false;
        } catch (const spindle::ChannelClosed&) {
          return true;
        }
      });
    };
    for (std::size_t cap : {0u, 1u}) {
      // Receivers waiting on an empty channel get nullopt.
      spindle::Chan<int> empty(cap);
      std::vector<spindle::Task<bool>> receivers;
      for (int i = 0; i < 4; ++i) {
        receivers.push_back(spindle::spawn([empty] { return !empty.recv().has_value(); }));
      }
      // Senders waiting on a full (or receiver-less) channel get ChannelClosed.
      spindle::Chan<int> full(cap);
      if (cap == 1) full.send(0);
      std::vector<spindle::Task<bool>> senders;
      for (int i = 0; i < 4; ++i) senders.push_back(blocked_sender(full));
      spindle::sleep_for(10ms);
      empty.close();
      full.close();
      for (auto& t : receivers) EXPECT_TRUE(t.join());
      for (auto& t : senders) EXPECT_TRUE(t.join());
      if (cap == 1) {
        EXPECT_EQ(full.recv(), 0);  // the buffered value survives the close
      }
      EXPECT_EQ(full.recv(), std::nullopt);
    }
  });
}

TEST(ChanBasic, NilChannelNeverReadyAndSizeZero) {
  spindle::Chan<int> nil(nullptr);
  EXPECT_TRUE(nil.is_nil());
  EXPECT_FALSE(nil.try_send(1));
  EXPECT_EQ(nil.try_recv(), std::nullopt);
  EXPECT_EQ(nil.size(), 0u);
  EXPECT_EQ(nil.capacity(), 0u);
  spindle::RecvChan<int> in;
  EXPECT_TRUE(in.is_nil());
  EXPECT_EQ(in.try_recv(), std::nullopt);
}

TEST(ChanBasic, NilChannelBlocksForeverUntilRuntimeUnwinds) {
  std::atomic<bool> unwound{false};
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    rt.block_on([&] {
      spindle::spawn([&] {
        struct Flag {
          std::atomic<bool>& f;
          ~Flag() { f = true; }
        } flag{unwound};
        spindle::Chan<int> nil(nullptr);
        nil.recv();
        ADD_FAILURE() << "recv on nil returned";
      }).detach();
      spindle::sleep_for(10ms);
    });
  }
  EXPECT_TRUE(unwound.load());
}

TEST(ChanBasic, ViewsShareTheChannelAndCompareByIdentity) {
  spindle::Chan<int> ch(2);
  spindle::SendChan<int> out = ch;
  spindle::RecvChan<int> in = ch;
  out.send(3);
  EXPECT_EQ(in.size(), 1u);
  EXPECT_EQ(out.capacity(), 2u);
  EXPECT_EQ(in.recv(), 3);
  EXPECT_TRUE(in == spindle::RecvChan<int>(ch));
  EXPECT_FALSE(in == spindle::RecvChan<int>(spindle::Chan<int>(2)));
  EXPECT_TRUE(spindle::RecvChan<int>() == spindle::RecvChan<int>());
  EXPECT_FALSE(in == spindle::RecvChan<int>());
  spindle::Chan<int> copy = ch;
  EXPECT_TRUE(copy == ch);
  EXPECT_FALSE(ch == spindle::Chan<int>(2));
  out.close();
  EXPECT_EQ(in.recv(), std::nullopt);
  // Confinement: a receive-only view has no send or close.
  static_assert(!CanSend<spindle::RecvChan<int>>);
  static_assert(!CanClose<spindle::RecvChan<int>>);
  static_assert(!CanRecv<spindle::SendChan<int>>);
  static_assert(CanSend<spindle::SendChan<int>> && CanClose<spindle::SendChan<int>>);
  static_assert(CanRecv<spindle::RecvChan<int>>);
}

TEST(ChanBasic, RangeForReceivesUntilClosed) {
  spindle::Runtime rt{two_workers()};
  int sum = rt.block_on([] {
    spindle::Chan<int> ch(2);
    auto producer = spindle::spawn([ch] {
      for (int i = 1; i <= 100; ++i) ch.send(i);
      ch.close();
    });
    int s = 0;
    spindle::RecvChan<int> in = ch;
    for (int v : in) s += v;
    producer.join();
    return s;
  });
  EXPECT_EQ(sum, 5050);
}

TEST(ChanBasic, MoveOnlyValuesTravel) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    for (std::size_t cap : {0u, 4u}) {
      spindle::Chan<std::unique_ptr<int>> ch(cap);
      auto t = spindle::spawn([ch] {
        for (int i = 0; i < 10; ++i) ch.send(std::make_unique<int>(i));
        ch.close();
      });
      int expect = 0;
      for (auto& p : ch) EXPECT_EQ(*p, expect++);
      EXPECT_EQ(expect, 10);
      t.join();
    }
  });
}

struct Counted {
  static inline std::atomic<int> live{0};
  int v;
  explicit Counted(int x) : v(x) { ++live; }
  Counted(Counted&& o) noexcept : v(o.v) { ++live; }
  Counted(const Counted& o) : v(o.v) { ++live; }
  ~Counted() { --live; }
};

TEST(ChanBasic, LastHandleDestroysBufferedValues) {
  Counted::live = 0;
  {
    spindle::Chan<Counted> ch(8);
    for (int i = 0; i < 5; ++i) ch.send(Counted(i));
    EXPECT_EQ(Counted::live.load(), 5);
    EXPECT_EQ(ch.recv()->v, 0);
    EXPECT_EQ(Counted::live.load(), 4);
    spindle::RecvChan<Counted> view = ch;
    { spindle::Chan<Counted> drop = std::move(ch); }
    EXPECT_EQ(Counted::live.load(), 4);  // the view still holds the channel
  }
  EXPECT_EQ(Counted::live.load(), 0);
}

TEST(ChanBasic, CopySendKeepsTheOriginal) {
  spindle::Chan<std::string> ch(1);
  const std::string s = "abc";
  ch.send(s);
  EXPECT_EQ(s, "abc");
  EXPECT_FALSE(ch.try_send(s));
  EXPECT_EQ(ch.recv(), "abc");
  EXPECT_TRUE(ch.try_send(s));
  EXPECT_EQ(s, "abc");
}

TEST(ChanBasic, NegativeCapacityIsInvalid) {
  EXPECT_THROW(spindle::Chan<int>(-1), std::invalid_argument);
}

TEST(ChanBasic, CapacityAboveTheMaximumIsInvalidAndSaysSo) {
  EXPECT_NO_THROW(spindle::Chan<char>(std::size_t{1} << 20));
  try {
    spindle::Chan<int> ch((std::size_t{1} << 40) + 1);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("capacity 1099511627777 is above the maximum"),
              std::string::npos)
        << e.what();
  }
}

TEST(ChanBasic, BufferStaysFifoAndExactlyFullOverManyLaps) {
  // Capacities that are and are not powers of two: the ring skips unused slot indices at
  // the end of each lap, so fullness, size and order must hold across lap boundaries.
  for (std::size_t cap : {1u, 2u, 3u, 5u, 6u, 7u, 8u, 100u}) {
    spindle::Chan<int> ch(cap);
    int sent = 0;
    int received = 0;
    for (int round = 0; round < 50; ++round) {
      while (ch.try_send(sent)) ++sent;
      ASSERT_EQ(ch.size(), cap) << "cap " << cap << " round " << round;
      ASSERT_EQ(static_cast<std::size_t>(sent - received), cap) << "cap " << cap;
      // Take a different amount each round so the head visits every slot index.
      const std::size_t take = 1 + static_cast<std::size_t>(round) % cap;
      for (std::size_t i = 0; i < take; ++i) {
        ASSERT_EQ(ch.try_recv(), received) << "cap " << cap << " round " << round;
        ++received;
      }
      ASSERT_EQ(ch.size(), cap - take) << "cap " << cap << " round " << round;
    }
    ch.close();
    while (std::optional<int> v = ch.recv()) ASSERT_EQ(*v, received++) << "cap " << cap;
    EXPECT_EQ(received, sent) << "cap " << cap;
  }
}

TEST(ChanBasic, PlainThreadsAndTasksTalk) {
  spindle::Runtime rt{two_workers()};
  for (std::size_t cap : {0u, 3u}) {
    spindle::Chan<int> to_task(cap);
    spindle::Chan<int> to_thread(cap);
    auto echo = rt.spawn([=] {
      for (auto v = to_task.recv(); v; v = to_task.recv()) to_thread.send(*v * 2);
      to_thread.close();
    });
    std::thread feeder([=] {
      for (int i = 0; i < 200; ++i) to_task.send(i);
      to_task.close();
    });
    int expect = 0;
    for (int v : to_thread) {
      EXPECT_EQ(v, expect * 2);
      ++expect;
    }
    EXPECT_EQ(expect, 200);
    feeder.join();
    echo.join();
  }
}

TEST(ChanBasic, PlainThreadsOnly) {
  for (std::size_t cap : {0u, 1u, 16u}) {
    spindle::Chan<int> ch(cap);
    std::thread producer([ch] {
      for (int i = 0; i < 500; ++i) ch.send(i);
      ch.close();
    });
    int expect = 0;
    for (int v : ch) EXPECT_EQ(v, expect++);
    EXPECT_EQ(expect, 500);
    producer.join();
  }
}

TEST(ChanBasic, UnitChannelSignals) {
  spindle::Chan<spindle::Unit> done;
  EXPECT_TRUE(spindle::Unit{} == spindle::Unit{});
  EXPECT_FALSE(spindle::Unit{} < spindle::Unit{});
  done.close();
  EXPECT_EQ(done.recv(), std::nullopt);
}

}  // namespace

namespace {

TEST(ChanBasic, BlockedOperationsUnwindWithTheRuntime) {
  std::atomic<int> unwound{0};
  Counted::live = 0;
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    spindle::Chan<Counted> unbuf_r;  // nobody sends
    spindle::Chan<Counted> unbuf_s;  // nobody receives
    spindle::Chan<Counted> empty(2);
    spindle::Chan<Counted> full(1);
    full.send(Counted(0));
    rt.block_on([&] {
      struct Flag {
        std::atomic<int>& n;
        ~Flag() { ++n; }
      };
      spindle::spawn([&, unbuf_r] {
        Flag f{unwound};
        unbuf_r.recv();
      }).detach();
      spindle::spawn([&, unbuf_s] {
        Flag f{unwound};
        unbuf_s.send(Counted(1));
      }).detach();
      spindle::spawn([&, empty] {
        Flag f{unwound};
        empty.recv();
      }).detach();
      spindle::spawn([&, full] {
        Flag f{unwound};
        full.send(Counted(2));
      }).detach();
      spindle::sleep_for(10ms);
    });
  }
  EXPECT_EQ(unwound.load(), 4);
  EXPECT_EQ(Counted::live.load(), 0);  // the unwound senders' values were destroyed too
}

}  // namespace

namespace {

TEST(ChanBasic, ChannelsOfChannels) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<spindle::RecvChan<int>> chans(2);
    spindle::Chan<int> inner(1);
    inner.send(5);
    chans.send(inner);
    auto got = chans.recv();
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(*got == spindle::RecvChan<int>(inner));
    EXPECT_EQ(got->recv(), 5);
  });
}

TEST(ChanBasic, SelectAcceptsChansViewsAndTemporaries) {
  spindle::Chan<int> ch(2);
  spindle::SendChan<int> out = ch;
  spindle::RecvChan<int> in = ch;
  EXPECT_EQ(spindle::select(spindle::on_send(out, 1)), 0u);
  EXPECT_EQ(spindle::select(spindle::on_send(spindle::SendChan<int>(ch), 2)), 0u);
  int sum = 0;
  EXPECT_EQ(spindle::select(spindle::on_recv(in, [&](auto v) { sum += *v; })), 0u);
  EXPECT_EQ(
      spindle::select(spindle::on_recv(spindle::RecvChan<int>(ch), [&](auto v) { sum += *v; })),
      0u);
  EXPECT_EQ(sum, 3);
  auto stored = spindle::on_recv(spindle::Chan<int>(1));  // owns its temporary channel
  EXPECT_EQ(spindle::select(stored, spindle::on_default([] {})), 1u);
}

}  // namespace
