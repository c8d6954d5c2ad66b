// SPDX-License-Identifier: Apache-2.0
// Select under contention: the races that would show a lost wake-up (a test that hangs) or
// a double delivery (a value counted twice) if the claim protocol were wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

spindle::Options two_workers() { return spindle::Options{.workers = 2}; }

class SelectStress : public ::testing::TestWithParam<std::size_t> {};

// Two tasks, each selecting between sending to the other and receiving from it: every
// select completes exactly one operation, and the send and receive counts pair up.
TEST_P(SelectStress, SymmetricSendRecvSelects) {
  static constexpr int kRounds = 4000;
  spindle::Runtime rt{two_workers()};
  rt.block_on([cap = GetParam()] {
    spindle::Chan<int> ab(cap);
    spindle::Chan<int> ba(cap);
    struct Counts {
      int sent = 0;
      int received = 0;
      bool ordered = true;
    };
    auto side = [](spindle::Chan<int> out, spindle::Chan<int> in) {
      Counts c;
      int last = -1;
      for (int i = 0; i < kRounds; ++i) {
        spindle::select(spindle::on_send(out, c.sent, [&] { ++c.sent; }),
                        spindle::on_recv(in, [&](std::optional<int> v) {
                          if (!v || *v != last + 1) c.ordered = false;
                          last = v.value_or(last);
                          ++c.received;
                        }));
      }
      return c;
    };
    auto a = spindle::spawn([=] { return side(ab, ba); });
    auto b = spindle::spawn([=] { return side(ba, ab); });
    Counts ca = a.join();
    Counts cb = b.join();
    EXPECT_TRUE(ca.ordered);
    EXPECT_TRUE(cb.ordered);
    EXPECT_EQ(ca.sent + ca.received, kRounds);
    EXPECT_EQ(cb.sent + cb.received, kRounds);
    // Whatever is still buffered was sent but not received.
    EXPECT_EQ(ca.sent, cb.received + static_cast<int>(ab.size()));
    EXPECT_EQ(cb.sent, ca.received + static_cast<int>(ba.size()));
  });
}

// Many selectors share two input channels and a done channel; producers feed both inputs.
// Every value is received exactly once.
TEST_P(SelectStress, ManySelectorsOnSharedChannels) {
  static constexpr int kProducers = 4;
  static constexpr int kSelectors = 6;
  static constexpr int kPerProducer = 1500;
  spindle::Runtime rt{two_workers()};
  std::vector<std::vector<int>> got(kSelectors);
  rt.block_on([&, cap = GetParam()] {
    spindle::Chan<int> x(cap);
    spindle::Chan<int> y(cap);
    std::vector<spindle::Task<void>> selectors;
    for (int s = 0; s < kSelectors; ++s) {
      selectors.push_back(spindle::spawn([&mine = got[s], x, y] {
        spindle::RecvChan<int> in_x = x;
        spindle::RecvChan<int> in_y = y;
        while (!in_x.is_nil() || !in_y.is_nil()) {
          spindle::select(spindle::on_recv(in_x,
                                           [&](std::optional<int> v) {
                                             if (v) {
                                               mine.push_back(*v);
                                             } else {
                                               in_x = nullptr;
                                             }
                                           }),
                          spindle::on_recv(in_y, [&](std::optional<int> v) {
                            if (v) {
                              mine.push_back(*v);
                            } else {
                              in_y = nullptr;
                            }
                          }));
        }
      }));
    }
    std::vector<spindle::Task<void>> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.push_back(spindle::spawn([p, x, y] {
        for (int i = 0; i < kPerProducer; ++i) {
          const int v = p * kPerProducer + i;
          // Producers select too: send on whichever input has room first.
          spindle::select(spindle::on_send(x, v), spindle::on_send(y, v));
        }
      }));
    }
    for (auto& t : producers) t.join();
    x.close();
    y.close();
    for (auto& t : selectors) t.join();
  });
  std::vector<int> all;
  for (auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), std::size_t{kProducers} * kPerProducer);
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<int>(i));
}

// Selects with short timeouts race a steady sender: aborted waits must never lose or
// duplicate a value (this exercises enrol, abort and unlink under contention).
TEST_P(SelectStress, TimeoutsRacingSends) {
  static constexpr int kValues = 2000;
  spindle::Runtime rt{two_workers()};
  rt.block_on([cap = GetParam()] {
    spindle::Chan<int> ch(cap);
    auto sender = spindle::spawn([ch] {
      for (int i = 0; i < kValues; ++i) ch.send(i);
      ch.close();
    });
    int expect = 0;
    bool open = true;
    int timeouts = 0;
    while (open) {
      spindle::select(spindle::on_recv(ch,
                                       [&](std::optional<int> v) {
                                         if (!v) {
                                           open = false;
                                           return;
                                         }
                                         EXPECT_EQ(*v, expect);
                                         ++expect;
                                       }),
                      spindle::on_recv(spindle::after(std::chrono::microseconds(20)),
                                       [&](auto) { ++timeouts; }));
    }
    EXPECT_EQ(expect, kValues);
    sender.join();
  });
}

// A crowd of blocked selects and plain receivers, all woken by one close: each wakes once.
TEST_P(SelectStress, CloseWakesEverySelectOnce) {
  spindle::Runtime rt{two_workers()};
  rt.block_on([cap = GetParam()] {
    for (int round = 0; round < 20; ++round) {
      spindle::Chan<int> ch(cap);
      spindle::Chan<int> other(cap);
      std::atomic<int> woken{0};
      std::vector<spindle::Task<void>> waiters;
      for (int i = 0; i < 16; ++i) {
        waiters.push_back(spindle::spawn([&woken, ch, other, i] {
          if (i % 2 == 0) {
            spindle::select(spindle::on_recv(other), spindle::on_recv(ch, [&](auto v) {
                              EXPECT_FALSE(v.has_value());
                              woken.fetch_add(1);
                            }));
          } else {
            EXPECT_EQ(ch.recv(), std::nullopt);
            woken.fetch_add(1);
          }
        }));
      }
      if (round % 2 == 0) spindle::yield();
      ch.close();
      for (auto& t : waiters) t.join();
      EXPECT_EQ(woken.load(), 16);
    }
  });
}

// Plain threads selecting against tasks on unbuffered and buffered channels.
TEST_P(SelectStress, ThreadsAndTasksSelect) {
  static constexpr int kValues = 1500;
  spindle::Runtime rt{two_workers()};
  spindle::Chan<int> a(GetParam());
  spindle::Chan<int> b(GetParam());
  auto task = rt.spawn([=] {
    int sum = 0;
    int closed = 0;
    spindle::RecvChan<int> ra = a;
    spindle::RecvChan<int> rb = b;
    while (closed < 2) {
      spindle::select(spindle::on_recv(ra,
                                       [&](auto v) {
                                         if (v) {
                                           sum += *v;
                                         } else {
                                           ra = nullptr;
                                           ++closed;
                                         }
                                       }),
                      spindle::on_recv(rb, [&](auto v) {
                        if (v) {
                          sum += *v;
                        } else {
                          rb = nullptr;
                          ++closed;
                        }
                      }));
    }
    return sum;
  });
  std::thread t1([=] {
    for (int i = 1; i <= kValues; ++i)
      spindle::select(spindle::on_send(a, i), spindle::on_send(b, i));
  });
  std::thread t2([=] {
    for (int i = 1; i <= kValues; ++i)
      spindle::select(spindle::on_send(b, i), spindle::on_send(a, i));
  });
  t1.join();
  t2.join();
  a.close();
  b.close();
  EXPECT_EQ(task.join(), kValues * (kValues + 1));
}

// The runtime is torn down while tasks are handing values to each other: every task must
// unwind from wherever it is blocked (a partner may be completing it at that very moment,
// between releasing the channel lock and unparking it) and the runtime must come apart
// cleanly, round after round. Under the sanitizers this is where a partner touching an
// unwound task's stack would show.
TEST_P(SelectStress, TeardownInTheMiddleOfHandOffs) {
  static constexpr int kPairs = 8;
  // Each round takes about a second: ~Runtime first waits (up to 1 s) for busy tasks to
  // settle before it unwinds them, and these never settle.
  for (int rounds = 1; rounds <= 2; ++rounds) {
    std::atomic<int> started{0};
    std::atomic<int> unwound{0};
    {
      spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
      rt.block_on([&, cap = GetParam()] {
        spindle::Chan<int> a(cap);
        spindle::Chan<int> b(cap);
        struct Count {
          std::atomic<int>& n;
          ~Count() { n.fetch_add(1); }
        };
        for (int i = 0; i < kPairs; ++i) {
          spindle::spawn([&, a, b]() mutable {
            Count c{unwound};
            started.fetch_add(1);
            for (int v = 0;; ++v) a.send(v);
          }).detach();
          spindle::spawn([&, a, b]() mutable {
            Count c{unwound};
            started.fetch_add(1);
            for (;;) {
              spindle::select(spindle::on_recv(a, [](std::optional<int>) {}),
                              spindle::on_send(b, 1));
            }
          }).detach();
          spindle::spawn([&, b]() mutable {
            Count c{unwound};
            started.fetch_add(1);
            for (;;) (void)b.recv();
          }).detach();
        }
      });
      while (started.load() < 3 * kPairs) std::this_thread::sleep_for(100us);
      std::this_thread::sleep_for(std::chrono::microseconds(300 * rounds));
    }
    ASSERT_EQ(unwound.load(), 3 * kPairs) << "round " << rounds;
  }
}

INSTANTIATE_TEST_SUITE_P(Capacities, SelectStress, ::testing::Values(0, 1, 64),
                         [](const auto& info) { return "cap" + std::to_string(info.param); });

}  // namespace
