// SPDX-License-Identifier: Apache-2.0
// Scenarios from Go's runtime channel tests (chan_test.go), re-expressed for spindle: each
// one once caught a real bug in Go's implementation.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <vector>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

spindle::Options two_workers() { return spindle::Options{.workers = 2}; }

// A value buffered before close must be seen by a non-blocking select racing the close.
TEST(SelectGo, NonBlockingReceiveRacingClose) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    for (int i = 0; i < 300; ++i) {
      spindle::Chan<int> c(1);
      c.send(1);
      auto t = spindle::spawn([c] {
        bool ready = true;
        spindle::select(spindle::on_recv(c), spindle::on_default([&] { ready = false; }));
        return ready;
      });
      c.close();
      c.recv();
      EXPECT_TRUE(t.join()) << "a closed channel was not ready";
    }
  });
}

// Two tasks each select over sending and receiving on one channel: a select must never
// receive its own value.
TEST(SelectGo, SelectNeverReceivesItsOwnSend) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    for (std::size_t cap : {0u, 10u}) {
      spindle::Chan<int> c(cap);
      std::atomic<bool> self_receive{false};
      std::vector<spindle::Task<void>> tasks;
      for (int p = 0; p < 2; ++p) {
        tasks.push_back(spindle::spawn([c, p, cap, &self_receive] {
          for (int i = 0; i < 1000; ++i) {
            spindle::select(spindle::on_send(c, p), spindle::on_recv(c, [&](std::optional<int> v) {
                              if (cap == 0 && v == p) self_receive = true;
                            }));
          }
        }));
      }
      for (auto& t : tasks) t.join();
      EXPECT_FALSE(self_receive.load()) << "capacity " << cap;
    }
  });
}

// The same channel twice in one select, with a sender racing it.
TEST(SelectGo, DuplicateChannelInOneSelect) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    spindle::Chan<int> a;
    spindle::Chan<int> c;
    spindle::Chan<int> d;
    auto sel = spindle::spawn([=] {
      return spindle::select(spindle::on_recv(a), spindle::on_recv(c), spindle::on_recv(c),
                             spindle::on_recv(d));
    });
    spindle::sleep_for(2ms);  // let it block
    auto waiter =
        spindle::spawn([=] { return spindle::select(spindle::on_recv(c), spindle::on_recv(d)); });
    spindle::sleep_for(2ms);
    c.send(8);
    d.send(9);
    const std::size_t fired = sel.join();
    const std::size_t fired_waiter = waiter.join();
    EXPECT_TRUE(fired == 1 || fired == 2 || fired == 3);
    EXPECT_TRUE(fired_waiter == 0 || fired_waiter == 1);
  });
}

// Two send cases on the same channel are chosen about equally often.
TEST(SelectGo, PseudoRandomSend) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    for (std::size_t cap : {0u, 1u}) {
      constexpr int kRounds = 600;
      spindle::Chan<int> c(cap);
      auto receiver = spindle::spawn([c] {
        int ones = 0;
        for (int i = 0; i < kRounds; ++i) ones += *c.recv();
        return ones;
      });
      for (int i = 0; i < kRounds; ++i)
        spindle::select(spindle::on_send(c, 0), spindle::on_send(c, 1));
      const int ones = receiver.join();
      EXPECT_GT(ones, kRounds / 10) << "capacity " << cap;
      EXPECT_LT(ones, kRounds - kRounds / 10) << "capacity " << cap;
    }
  });
}

// Go's TestSelectStress: four channels, each with its own sender and receiver loops that use
// plain operations and selects alternately, and switch finished cases off with nil views.
TEST(SelectGo, SelectStress) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([] {
    constexpr int kN = 2000;
    std::vector<spindle::Chan<int>> c;
    c.emplace_back(0);
    c.emplace_back(0);
    c.emplace_back(2);
    c.emplace_back(3);
    std::vector<spindle::Task<void>> tasks;
    // Plain senders and receivers, one per channel.
    for (int k = 0; k < 4; ++k) {
      tasks.push_back(spindle::spawn([ch = c[k]] {
        for (int i = 0; i < kN; ++i) ch.send(0);
      }));
      tasks.push_back(spindle::spawn([ch = c[k]] {
        for (int i = 0; i < kN; ++i) ch.recv();
      }));
    }
    // A selecting sender and a selecting receiver over all four.
    tasks.push_back(spindle::spawn([c] {
      int n[4] = {0, 0, 0, 0};
      std::vector<spindle::SendChan<int>> out(c.begin(), c.end());
      for (int i = 0; i < 4 * kN; ++i) {
        auto on = [&](int k) {
          return [&n, &out, k] {
            if (++n[k] == kN) out[k] = nullptr;
          };
        };
        spindle::select(spindle::on_send(out[3], 0, on(3)), spindle::on_send(out[2], 0, on(2)),
                        spindle::on_send(out[0], 0, on(0)), spindle::on_send(out[1], 0, on(1)));
      }
    }));
    tasks.push_back(spindle::spawn([c] {
      int n[4] = {0, 0, 0, 0};
      std::vector<spindle::RecvChan<int>> in(c.begin(), c.end());
      for (int i = 0; i < 4 * kN; ++i) {
        auto [k, v] = spindle::select_recv(in);
        EXPECT_TRUE(v.has_value());
        if (++n[k] == kN) in[k] = nullptr;
      }
    }));
    for (auto& t : tasks) t.join();
  });
}

}  // namespace
