// SPDX-License-Identifier: Apache-2.0
// Deterministic tests of select's rules, the dynamic select_recv, after() and Ticker.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

spindle::Options two_workers() { return spindle::Options{.workers = 2}; }

// Each of three counts out of `rounds` is within `slack` of a third.
void expect_near_third(std::initializer_list<int> counts, int rounds, int slack) {
  int k = 0;
  for (int c : counts) {
    EXPECT_GT(c, rounds / 3 - slack) << "case #" << k;
    EXPECT_LT(c, rounds / 3 + slack) << "case #" << k;
    ++k;
  }
}

TEST(SelectBasic, ReadyReceiveFiresWithItsIndexAndValue) {
  spindle::Chan<int> a(1);
  spindle::Chan<int> b(1);
  b.send(42);
  std::optional<int> got;
  const std::size_t fired =
      spindle::select(spindle::on_recv(a, [&](std::optional<int>) { ADD_FAILURE(); }),
                      spindle::on_recv(b, [&](std::optional<int> v) { got = v; }));
  EXPECT_EQ(fired, 1u);
  EXPECT_EQ(got, 42);
}

TEST(SelectBasic, ReadySendFires) {
  spindle::Chan<int> full(1);
  full.send(0);
  spindle::Chan<int> room(1);
  bool ran = false;
  const std::size_t fired =
      spindle::select(spindle::on_send(full, 1), spindle::on_send(room, 5, [&] { ran = true; }));
  EXPECT_EQ(fired, 1u);
  EXPECT_TRUE(ran);
  EXPECT_EQ(room.recv(), 5);
  EXPECT_EQ(full.recv(), 0);
  EXPECT_EQ(full.try_recv(), std::nullopt);
}

TEST(SelectBasic, DefaultRunsOnlyWhenNothingIsReady) {
  spindle::Chan<int> ch(1);
  bool defaulted = false;
  EXPECT_EQ(spindle::select(spindle::on_recv(ch), spindle::on_default([&] { defaulted = true; })),
            1u);
  EXPECT_TRUE(defaulted);
  ch.send(3);
  defaulted = false;
  EXPECT_EQ(spindle::select(spindle::on_default([&] { defaulted = true; }), spindle::on_recv(ch)),
            1u);
  EXPECT_FALSE(defaulted);
  EXPECT_EQ(ch.size(), 0u);
}

TEST(SelectBasic, NilCasesNeverFire) {
  spindle::RecvChan<int> nil_in;
  spindle::SendChan<int> nil_out;
  spindle::Chan<int> nil(nullptr);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(spindle::select(spindle::on_recv(nil_in), spindle::on_send(nil_out, 1),
                              spindle::on_recv(nil), spindle::on_send(nil, 2),
                              spindle::on_default([] {})),
              4u);
  }
}

TEST(SelectBasic, SwitchingACaseOffWithANilView) {
  spindle::Chan<int> ch(4);
  ch.send(1);
  spindle::RecvChan<int> in = ch;
  in = nullptr;  // as Go's `in = nil`
  EXPECT_EQ(spindle::select(spindle::on_recv(in), spindle::on_default([] {})), 1u);
  EXPECT_EQ(ch.size(), 1u);
}

TEST(SelectBasic, ClosedChannelIsReadyWithNullopt) {
  spindle::Chan<int> open(1);
  spindle::Chan<int> closed;
  closed.close();
  bool saw_nullopt = false;
  EXPECT_EQ(
      spindle::select(
          spindle::on_recv(open),
          spindle::on_recv(closed, [&](std::optional<int> v) { saw_nullopt = !v.has_value(); })),
      1u);
  EXPECT_TRUE(saw_nullopt);
}

TEST(SelectBasic, SendCaseOnClosedChannelThrows) {
  spindle::Chan<int> closed(1);
  closed.close();
  try {
    spindle::select(spindle::on_send(closed, 1), spindle::on_default([] {}));
    FAIL() << "select must throw on a send case of a closed channel";
  } catch (const spindle::ChannelClosed& e) {
    EXPECT_STREQ(e.what(), "spindle::select: send on closed channel");
  }
}

TEST(SelectBasic, HandlersAreOptional) {
  spindle::Chan<int> ch(1);
  EXPECT_EQ(spindle::select(spindle::on_send(ch, 9)), 0u);
  EXPECT_EQ(spindle::select(spindle::on_recv(ch)), 0u);
  EXPECT_EQ(ch.size(), 0u);
}

TEST(SelectBasic, SendValueIsConsumedOnlyWhenTheCaseFires) {
  spindle::Chan<std::unique_ptr<int>> full(1);
  full.send(std::make_unique<int>(1));
  EXPECT_EQ(
      spindle::select(spindle::on_send(full, std::make_unique<int>(2)), spindle::on_default([] {})),
      1u);
  EXPECT_EQ(**full.recv(), 1);
  EXPECT_EQ(full.try_recv(), std::nullopt);  // 2 was never sent
}

TEST(SelectBasic, ChoiceAmongReadyCasesIsUniform) {
  spindle::Chan<int> a(1);
  spindle::Chan<int> never(1);
  spindle::Chan<int> b(1);
  spindle::Chan<int> c(1);
  int counts[4] = {0, 0, 0, 0};
  constexpr int kRounds = 6000;
  for (int i = 0; i < kRounds; ++i) {
    a.try_send(0);
    b.try_send(0);
    c.try_send(0);
    ++counts[spindle::select(spindle::on_recv(a), spindle::on_recv(never), spindle::on_recv(b),
                             spindle::on_recv(c))];
  }
  EXPECT_EQ(counts[1], 0);
  expect_near_third({counts[0], counts[2], counts[3]}, kRounds, kRounds / 20);
}

// Ready cases of different kinds (a parked sender on each of two unbuffered channels, room
// in a buffered one) are chosen equally often too.
TEST(SelectBasic, ChoiceAmongReadyCasesOfMixedKindsIsUniform) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    spindle::Chan<int> a;
    spindle::Chan<int> b;
    spindle::Chan<int> room(1);
    auto feed = [](spindle::Chan<int> ch) {
      return spindle::spawn([ch] {
        while (true) {
          try {
            ch.send(0);
          } catch (const spindle::ChannelClosed&) {
            return;
          }
        }
      });
    };
    auto fa = feed(a);
    auto fb = feed(b);
    int counts[3] = {0, 0, 0};
    constexpr int kRounds = 3000;
    for (int i = 0; i < kRounds; ++i) {
      spindle::yield();  // one worker: both feeders run and park in send
      ++counts[spindle::select(spindle::on_recv(a), spindle::on_recv(b),
                               spindle::on_send(room, 1))];
      (void)room.try_recv();
    }
    a.close();
    b.close();
    fa.join();
    fb.join();
    expect_near_third({counts[0], counts[1], counts[2]}, kRounds, kRounds / 15);
  });
}

// A case can look ready and not be: here b still holds the entry of a select that a
// receive on a has already completed. The select must go on to the case that is ready.
TEST(SelectBasic, ACaseThatOnlyLooksReadyGivesWayToOneThatIs) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    for (int round = 0; round < 40; ++round) {
      spindle::Chan<int> a;
      spindle::Chan<int> b;
      spindle::Chan<int> c(1);
      auto t = spindle::spawn(
          [a, b] { spindle::select(spindle::on_send(a, 1), spindle::on_send(b, 2)); });
      spindle::yield();        // t enrols on a and b and parks
      EXPECT_EQ(a.recv(), 1);  // completes t through a; its entry on b stays until t runs
      c.send(3);
      std::optional<int> got;
      EXPECT_EQ(spindle::select(spindle::on_recv(b), spindle::on_recv(c, [&](auto v) { got = v; })),
                1u);
      EXPECT_EQ(got, 3);
      t.join();
      EXPECT_EQ(b.try_recv(), std::nullopt);
    }
  });
}

// A select over more cases than the ready-set poll handles (64) goes to the engine's poll.
template <std::size_t... I>
std::size_t select_over(std::array<spindle::Chan<int>, sizeof...(I)>& chans,
                        std::index_sequence<I...>) {
  return spindle::select(spindle::on_recv(chans[I])...);
}

TEST(SelectBasic, SelectOverMoreThan64Cases) {
  std::array<spindle::Chan<int>, 70> chans;
  for (auto& c : chans) c = spindle::Chan<int>(1);
  for (std::size_t ready : {0u, 40u, 69u}) {
    chans[ready].send(1);
    EXPECT_EQ(select_over(chans, std::make_index_sequence<70>{}), ready);
  }
  // And waiting: a task sends on one of them later.
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([&chans] {
    auto sender = spindle::spawn([c = chans[65]] { c.send(2); });
    EXPECT_EQ(select_over(chans, std::make_index_sequence<70>{}), 65u);
    sender.join();
  });
}

TEST(SelectBasic, BlockedSelectWakesOnTheReadyChannel) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    for (std::size_t cap : {0u, 1u}) {
      spindle::Chan<int> a(cap);
      spindle::Chan<int> b(cap);
      auto sender = spindle::spawn([b] {
        spindle::sleep_for(5ms);
        b.send(8);
      });
      std::optional<int> got;
      EXPECT_EQ(spindle::select(spindle::on_recv(a), spindle::on_recv(b, [&](auto v) { got = v; })),
                1u);
      EXPECT_EQ(got, 8);
      sender.join();
      // And a blocked send case.
      auto receiver = spindle::spawn([a] {
        spindle::sleep_for(5ms);
        return a.recv();
      });
      EXPECT_EQ(spindle::select(spindle::on_recv(b), spindle::on_send(a, 11)), 1u);
      EXPECT_EQ(receiver.join(), 11);
    }
  });
}

TEST(SelectBasic, BlockedSelectWakesOnClose) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<int> a;
    spindle::Chan<int> b(2);
    auto closer = spindle::spawn([b] {
      spindle::sleep_for(5ms);
      b.close();
    });
    bool closed = false;
    EXPECT_EQ(spindle::select(spindle::on_recv(a),
                              spindle::on_recv(b, [&](auto v) { closed = !v.has_value(); })),
              1u);
    EXPECT_TRUE(closed);
    closer.join();
  });
}

TEST(SelectBasic, BlockedSendCaseThrowsWhenClosed) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<int> a;
    spindle::Chan<int> never;
    auto closer = spindle::spawn([a] {
      spindle::sleep_for(5ms);
      a.close();
    });
    EXPECT_THROW(spindle::select(spindle::on_send(a, 1), spindle::on_recv(never)),
                 spindle::ChannelClosed);
    closer.join();
  });
}

TEST(SelectBasic, ASelectNeverMatchesItself) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<int> ch;
    EXPECT_EQ(
        spindle::select(spindle::on_send(ch, 1), spindle::on_recv(ch), spindle::on_default([] {})),
        2u);
    EXPECT_EQ(spindle::select(spindle::on_send(ch, 1), spindle::on_recv(ch),
                              spindle::on_recv(spindle::after(10ms))),
              2u);
  });
}

TEST(SelectBasic, TwoSelectsMeetOnAnUnbufferedChannel) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<int> ch;
    spindle::Chan<int> never_a;
    spindle::Chan<int> never_b;
    auto peer = spindle::spawn([=] {
      std::optional<int> v;
      EXPECT_EQ(
          spindle::select(spindle::on_recv(never_a), spindle::on_recv(ch, [&](auto x) { v = x; })),
          1u);
      return v;
    });
    spindle::sleep_for(5ms);
    EXPECT_EQ(spindle::select(spindle::on_send(ch, 4), spindle::on_recv(never_b)), 0u);
    EXPECT_EQ(peer.join(), 4);
  });
}

TEST(SelectBasic, AfterTimesOutASelect) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<int> never;
    const auto start = spindle::Clock::now();
    bool timed_out = false;
    EXPECT_EQ(
        spindle::select(spindle::on_recv(never),
                        spindle::on_recv(spindle::after(20ms), [&](auto) { timed_out = true; })),
        1u);
    EXPECT_TRUE(timed_out);
    EXPECT_GE(spindle::Clock::now() - start, 20ms);
  });
}

TEST(SelectBasic, AfterDeliversOnceAndNeverCloses) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    const auto start = spindle::Clock::now();
    spindle::RecvChan<spindle::TimePoint> t = spindle::after(5ms);
    EXPECT_EQ(t.capacity(), 1u);
    auto when = t.recv();
    ASSERT_TRUE(when.has_value());
    EXPECT_GE(*when - start, 5ms);
    spindle::sleep_for(5ms);
    EXPECT_EQ(t.try_recv(), std::nullopt);  // once, and not closed
    auto now = spindle::after(-1ms).try_recv();
    EXPECT_TRUE(now.has_value());  // a non-positive duration is ready at once
  });
}

TEST(SelectBasic, AfterFromAPlainThread) {
  const auto start = spindle::Clock::now();
  auto when = spindle::after(5ms).recv();
  ASSERT_TRUE(when.has_value());
  EXPECT_GE(*when - start, 5ms);
}

TEST(SelectBasic, UnreceivedAfterDoesNotLeak) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    for (int i = 0; i < 100; ++i) (void)spindle::after(1ms);
    spindle::sleep_for(10ms);  // let them fire; ASan checks they freed themselves
  });
}

TEST(SelectBasic, TickerTicksDropsAndStops) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Ticker tk(2ms);
    spindle::RecvChan<spindle::TimePoint> c = tk.chan();
    std::optional<spindle::TimePoint> prev;
    for (int i = 0; i < 3; ++i) {
      auto t = c.recv();
      ASSERT_TRUE(t.has_value());
      if (prev) {
        EXPECT_GT(*t, *prev);
      }
      prev = t;
    }
    spindle::sleep_for(20ms);
    EXPECT_LE(c.size(), 1u);  // a slow receiver finds at most one tick waiting
    tk.stop();
    static_cast<void>(c.try_recv());  // drop the tick that may be waiting
    spindle::sleep_for(10ms);
    EXPECT_EQ(c.try_recv(), std::nullopt);  // stopped: no more ticks
    tk.stop();                              // idempotent
  });
}

TEST(SelectBasic, TickerResetAndBadPeriod) {
  EXPECT_THROW(spindle::Ticker(0ms), std::invalid_argument);
  EXPECT_THROW(spindle::Ticker(-1ms), std::invalid_argument);
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Ticker tk(1h);
    auto c = tk.chan();
    tk.reset(2ms);
    EXPECT_TRUE(c.recv().has_value());
    EXPECT_TRUE(c == tk.chan());
    spindle::Ticker moved = std::move(tk);
    EXPECT_TRUE(moved.chan() == c);
    EXPECT_TRUE(tk.chan().is_nil());  // NOLINT(bugprone-use-after-move)
  });
}

TEST(SelectBasic, SelectRecvOverAVector) {
  spindle::Chan<int> a(4);
  spindle::Chan<int> b(4);
  spindle::Chan<int> c;
  std::vector<spindle::RecvChan<int>> ins{a, spindle::RecvChan<int>(), b, c};
  b.send(5);
  auto [i, v] = spindle::select_recv(ins);
  EXPECT_EQ(i, 2u);
  EXPECT_EQ(v, 5);
  a.close();
  auto [j, w] = spindle::select_recv(ins);
  EXPECT_EQ(j, 0u);
  EXPECT_EQ(w, std::nullopt);
  ins[0] = nullptr;
  bool defaulted = false;
  auto [k, x] = spindle::select_recv(ins, spindle::on_default([&] { defaulted = true; }));
  EXPECT_EQ(k, 4u);
  EXPECT_EQ(x, std::nullopt);
  EXPECT_TRUE(defaulted);
}

// The run-time sized select picks uniformly too, among its inputs and its extra cases
// alike; a nil input and an input with nothing in it never fire.
TEST(SelectBasic, SelectRecvChoiceAmongReadyCasesIsUniform) {
  spindle::Chan<int> a(1);
  spindle::Chan<int> empty(1);
  spindle::Chan<int> b(1);
  spindle::Chan<int> extra(1);
  const std::vector<spindle::RecvChan<int>> ins{a, spindle::RecvChan<int>(), empty, b};
  int counts[5] = {0, 0, 0, 0, 0};
  constexpr int kRounds = 6000;
  for (int i = 0; i < kRounds; ++i) {
    a.try_send(0);
    b.try_send(0);
    extra.try_send(0);
    ++counts[spindle::select_recv(ins, spindle::on_recv(extra)).first];
  }
  EXPECT_EQ(counts[1], 0);
  EXPECT_EQ(counts[2], 0);
  expect_near_third({counts[0], counts[3], counts[4]}, kRounds, kRounds / 20);
}

TEST(SelectBasic, SelectRecvBlocksAndTakesExtraCases) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    std::vector<spindle::Chan<int>> chans(20);
    std::vector<spindle::RecvChan<int>> ins(chans.begin(), chans.end());
    auto sender = spindle::spawn([c = chans[13]] { c.send(99); });
    auto [i, v] = spindle::select_recv(ins);
    EXPECT_EQ(i, 13u);
    EXPECT_EQ(v, 99);
    sender.join();
    spindle::Chan<spindle::Unit> done;
    auto closer = spindle::spawn([done] {
      spindle::sleep_for(2ms);
      done.close();
    });
    bool stopped = false;
    auto [j, w] = spindle::select_recv(ins, spindle::on_recv(done, [&](auto) { stopped = true; }));
    EXPECT_EQ(j, ins.size());
    EXPECT_FALSE(w.has_value());
    EXPECT_TRUE(stopped);
    closer.join();
  });
}

TEST(SelectBasic, SelectFromAPlainThread) {
  spindle::Runtime rt{two_workers()};
  spindle::Chan<int> a;
  spindle::Chan<int> b;
  auto t = rt.spawn([=] {
    a.send(1);
    return b.recv();
  });
  std::optional<int> got;
  EXPECT_EQ(spindle::select(spindle::on_recv(a, [&](auto v) { got = v; }), spindle::on_recv(b)),
            0u);
  EXPECT_EQ(got, 1);
  EXPECT_EQ(spindle::select(spindle::on_recv(a), spindle::on_send(b, 2)), 1u);
  EXPECT_EQ(t.join(), 2);
}

TEST(SelectBasic, BlockedSelectsUnwindWithTheRuntime) {
  std::atomic<int> unwound{0};
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    spindle::Chan<int> a;
    spindle::Chan<int> b(1);
    b.send(0);  // full: send cases on b block too
    rt.block_on([&] {
      struct Flag {
        std::atomic<int>& n;
        ~Flag() { ++n; }
      };
      spindle::spawn([&, a, b] {
        Flag f{unwound};
        spindle::select(spindle::on_recv(a), spindle::on_send(b, 1));
      }).detach();
      spindle::spawn([&, a] {
        Flag f{unwound};
        a.send(1);
      }).detach();
      spindle::spawn([&] {
        Flag f{unwound};
        spindle::select();
      }).detach();
      spindle::spawn([&, b] {
        Flag f{unwound};
        b.send(2);
      }).detach();
      spindle::sleep_for(10ms);
    });
  }
  // The select and the plain send on `a` may have met; everything else stayed blocked.
  EXPECT_EQ(unwound.load(), 4);
}

}  // namespace

namespace {

// Runtime::tasks() names what a task blocked on a channel waits for, as Go's tracebacks do.
TEST(SelectBasic, BlockedTasksReportTheirChannelState) {
  spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
  spindle::Chan<int> a;
  spindle::Chan<int> b(1);
  b.send(0);
  spindle::Chan<int> c;
  auto recv_task = rt.spawn([a] { a.recv(); });
  auto send_task = rt.spawn([b] { b.send(1); });
  auto select_task =
      rt.spawn([a, c] { spindle::select(spindle::on_recv(c), spindle::on_recv(a)); });
  auto state_of = [&](std::uint64_t id) {
    for (const spindle::TaskInfo& t : rt.tasks()) {
      if (t.id == id) return t.state;
    }
    return std::string("missing");
  };
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((state_of(recv_task.id()) != "chan recv" || state_of(send_task.id()) != "chan send" ||
          state_of(select_task.id()) != "select") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(state_of(recv_task.id()), "chan recv");
  EXPECT_EQ(state_of(send_task.id()), "chan send");
  EXPECT_EQ(state_of(select_task.id()), "select");
  a.close();
  b.close();
  c.close();
  recv_task.join();
  EXPECT_THROW(send_task.join(), spindle::ChannelClosed);
  select_task.join();
}

// The engine's entry for callers that have just polled every case themselves
// (recv_or_done, send_or_done): it goes straight to enrolling, and enrolling must notice a
// case that is ready by then, or the caller would park next to a ready channel for good.
TEST(SelectBasic, EnrollingWithoutAPollStillFindsReadyCases) {
  using spindle::detail::ChanAccess;
  using spindle::detail::kNoDefault;
  using spindle::detail::RecvOp;
  using spindle::detail::run_select;
  using spindle::detail::SelectCase;
  using spindle::detail::SendOp;
  using spindle::detail::WaitEntry;
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<int> quiet;  // never ready
    auto recv_from = [&quiet](const spindle::Chan<int>& ready) {
      RecvOp<int> a(ChanAccess::state(quiet));
      RecvOp<int> b(ChanAccess::state(ready));
      SelectCase* cases[2] = {&a, &b};
      WaitEntry entries[2];
      EXPECT_EQ(run_select(cases, entries, 2, kNoDefault, /*poll_first=*/false), 1u);
      return std::move(b.value);
    };
    spindle::Chan<int> buffered(1);
    buffered.send(7);
    EXPECT_EQ(recv_from(buffered), 7);

    spindle::Chan<int> unbuffered;
    auto sender = spindle::spawn([unbuffered] { unbuffered.send(8); });
    spindle::sleep_for(5ms);  // the sender is parked in send by now
    EXPECT_EQ(recv_from(unbuffered), 8);
    sender.join();

    spindle::Chan<int> closed;
    closed.close();
    EXPECT_EQ(recv_from(closed), std::nullopt);

    spindle::Chan<int> room(1);
    int v = 9;
    SendOp<int> a(ChanAccess::state(quiet), &v, "quiet");
    SendOp<int> b(ChanAccess::state(room), &v, "room");
    SelectCase* cases[2] = {&a, &b};
    WaitEntry entries[2];
    EXPECT_EQ(run_select(cases, entries, 2, kNoDefault, /*poll_first=*/false), 1u);
    EXPECT_EQ(room.recv(), 9);
  });
}

// A select completed through one channel stays linked on its others until it runs again.
// A plain send on such a channel must pass over that dead entry to the receiver queued
// behind it, not take it for a live receiver, nor give up as if nobody were there.
TEST(SelectBasic, PlainSendPassesOverADeadSelectEntryToTheReceiverBehindIt) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  spindle::Chan<int> a, b;
  auto wait_until_parked = [&rt](const std::string& state, std::size_t n) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      std::size_t k = 0;
      for (const auto& t : rt.tasks()) k += t.state == state ? 1 : 0;
      if (k == n || std::chrono::steady_clock::now() > until) return k == n;
      std::this_thread::sleep_for(1ms);
    }
  };
  std::optional<int> selected;
  auto s = rt.spawn([&] {
    spindle::select(spindle::on_recv(a, [&](std::optional<int> v) { selected = v; }),
                    spindle::on_recv(b, [&](std::optional<int> v) { selected = v; }));
  });
  ASSERT_TRUE(wait_until_parked("select", 1));  // its entry heads a's receivers
  auto r = rt.spawn([a]() mutable { return a.recv(); });
  ASSERT_TRUE(wait_until_parked("chan recv", 1));  // behind it
  std::atomic<bool> sent{false};
  // One worker: between its two sends nothing else runs, so the select, completed by the
  // first, is still linked on `a` when the second arrives.
  auto d = rt.spawn([a, b, &sent]() mutable {
    b.send(1);
    a.send(2);
    sent.store(true);
  });
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!sent.load() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(sent.load()) << "the send on a did not reach the receiver behind the dead entry";
  if (!sent.load()) {
    a.close();  // let everything finish so the runtime can be torn down
  }
  d.join();
  s.join();
  EXPECT_EQ(selected, 1);
  EXPECT_EQ(r.join(), std::optional<int>(2));
}

}  // namespace
