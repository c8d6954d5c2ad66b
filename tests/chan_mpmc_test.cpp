// SPDX-License-Identifier: Apache-2.0
// Many producers, many consumers: every value is received exactly once, and each consumer
// sees each producer's values in the order they were sent. Capacities 0, 1 and large; tasks,
// plain threads, and both at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "spindle/spindle.hpp"

namespace {

struct Msg {
  std::uint32_t producer;
  std::uint32_t seq;
};

constexpr int kProducers = 4;
constexpr int kConsumers = 4;
constexpr std::uint32_t kPerProducer = 3000;

// What one consumer saw: checks per-producer order as it goes.
struct Seen {
  std::vector<std::uint32_t> values;  // producer * kPerProducer + seq
  bool in_order = true;
  void consume(spindle::RecvChan<Msg> in) {
    std::vector<std::int64_t> last(kProducers, -1);
    for (Msg m : in) {
      if (static_cast<std::int64_t>(m.seq) <= last[m.producer]) in_order = false;
      last[m.producer] = m.seq;
      values.push_back(m.producer * kPerProducer + m.seq);
    }
  }
};

void check_exactly_once(const std::vector<Seen>& seen) {
  std::vector<std::uint32_t> all;
  for (const Seen& s : seen) {
    EXPECT_TRUE(s.in_order) << "a consumer saw a producer's values out of order";
    all.insert(all.end(), s.values.begin(), s.values.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), std::size_t{kProducers} * kPerProducer);
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i], i) << "value lost or duplicated";
  }
}

void produce(spindle::SendChan<Msg> out, std::uint32_t p) {
  for (std::uint32_t i = 0; i < kPerProducer; ++i) out.send(Msg{p, i});
}

class ChanMpmc : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ChanMpmc, TasksExactlyOnceInOrder) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::vector<Seen> seen(kConsumers);
  rt.block_on([&] {
    spindle::Chan<Msg> ch(GetParam());
    std::vector<spindle::Task<void>> consumers;
    for (auto& s : seen) consumers.push_back(spindle::spawn([&s, ch] { s.consume(ch); }));
    std::vector<spindle::Task<void>> producers;
    for (std::uint32_t p = 0; p < kProducers; ++p) {
      producers.push_back(spindle::spawn([ch, p] { produce(ch, p); }));
    }
    for (auto& t : producers) t.join();
    ch.close();
    for (auto& t : consumers) t.join();
  });
  check_exactly_once(seen);
}

TEST_P(ChanMpmc, ThreadsExactlyOnceInOrder) {
  std::vector<Seen> seen(kConsumers);
  spindle::Chan<Msg> ch(GetParam());
  std::vector<std::thread> consumers;
  for (auto& s : seen) consumers.emplace_back([&s, ch] { s.consume(ch); });
  std::vector<std::thread> producers;
  for (std::uint32_t p = 0; p < kProducers; ++p)
    producers.emplace_back([ch, p] { produce(ch, p); });
  for (auto& t : producers) t.join();
  ch.close();
  for (auto& t : consumers) t.join();
  check_exactly_once(seen);
}

TEST_P(ChanMpmc, TasksAndThreadsMixed) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::vector<Seen> seen(kConsumers);
  spindle::Chan<Msg> ch(GetParam());
  std::vector<spindle::Task<void>> tasks;
  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    Seen* s = &seen[c];
    if (c % 2 == 0) {
      tasks.push_back(rt.spawn([s, ch] { s->consume(ch); }));
    } else {
      threads.emplace_back([s, ch] { s->consume(ch); });
    }
  }
  std::vector<spindle::Task<void>> producer_tasks;
  std::vector<std::thread> producer_threads;
  for (std::uint32_t p = 0; p < kProducers; ++p) {
    if (p % 2 == 0) {
      producer_tasks.push_back(rt.spawn([ch, p] { produce(ch, p); }));
    } else {
      producer_threads.emplace_back([ch, p] { produce(ch, p); });
    }
  }
  for (auto& t : producer_tasks) t.join();
  for (auto& t : producer_threads) t.join();
  ch.close();
  for (auto& t : tasks) t.join();
  for (auto& t : threads) t.join();
  check_exactly_once(seen);
}

// try_send / try_recv spinning against blocking partners: still exactly once.
TEST_P(ChanMpmc, NonBlockingAgainstBlocking) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::vector<Seen> seen(2);
  rt.block_on([&] {
    spindle::Chan<Msg> ch(GetParam());
    auto blocking_consumer = spindle::spawn([&seen, ch] { seen[0].consume(ch); });
    auto polling_consumer = spindle::spawn([&seen, ch] {
      std::vector<std::int64_t> last(kProducers, -1);
      for (;;) {
        auto m = ch.try_recv();
        if (!m) {
          // The channel reports closed-and-drained as nullopt too: tell it apart by a
          // blocking receive once in a while.
          if (spindle::select(spindle::on_recv(ch, [&](std::optional<Msg> v) { m = v; }),
                              spindle::on_default([] {})) == 0 &&
              !m) {
            break;
          }
          if (!m) {
            spindle::yield();
            continue;
          }
        }
        if (static_cast<std::int64_t>(m->seq) <= last[m->producer]) seen[1].in_order = false;
        last[m->producer] = m->seq;
        seen[1].values.push_back(m->producer * kPerProducer + m->seq);
      }
    });
    std::vector<spindle::Task<void>> producers;
    for (std::uint32_t p = 0; p < kProducers; ++p) {
      producers.push_back(spindle::spawn([ch, p] {
        for (std::uint32_t i = 0; i < kPerProducer; ++i) {
          if (p % 2 == 0) {
            ch.send(Msg{p, i});
          } else {
            while (!ch.try_send(Msg{p, i})) spindle::yield();
          }
        }
      }));
    }
    for (auto& t : producers) t.join();
    ch.close();
    blocking_consumer.join();
    polling_consumer.join();
  });
  check_exactly_once(seen);
}

INSTANTIATE_TEST_SUITE_P(Capacities, ChanMpmc, ::testing::Values(0, 1, 1024),
                         [](const auto& info) { return "cap" + std::to_string(info.param); });

// Go's memory model: a send happens-before the receive completes, for plain data written
// before the send (TSan checks the hand-off of the non-atomic payload).
TEST(ChanMemoryModel, SendHappensBeforeReceive) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  for (std::size_t cap : {0u, 1u, 8u}) {
    rt.block_on([cap] {
      spindle::Chan<int*> ch(cap);
      auto t = spindle::spawn([ch] {
        for (int i = 0; i < 200; ++i) {
          int* p = new int(i);  // plain write before the send
          ch.send(p);
        }
        ch.close();
      });
      int expect = 0;
      for (int* p : ch) {
        EXPECT_EQ(*p, expect++);
        delete p;
      }
      t.join();
    });
  }
}

// The k-th receive happens-before the (k+C)-th send completes: a sender that got past a full
// buffer sees what the receiver wrote before receiving.
TEST(ChanMemoryModel, ReceiveHappensBeforeTheSendThatReusesTheSlot) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    for (int round = 0; round < 200; ++round) {
      spindle::Chan<int> sem(1);  // a capacity-1 channel used as a lock, as in Go's memory model
      int shared = 0;             // plain data guarded by "the slot"
      sem.send(0);
      auto t = spindle::spawn([&] {
        shared = 1;  // written before the receive frees the slot
        sem.recv();
      });
      sem.send(0);  // completes only after the receive: sees shared == 1
      EXPECT_EQ(shared, 1);
      t.join();
    }
  });
}

// Close happens-before a receive that observes it.
TEST(ChanMemoryModel, CloseHappensBeforeObservingIt) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    for (std::size_t cap : {0u, 4u}) {
      for (int round = 0; round < 100; ++round) {
        spindle::Chan<spindle::Unit> done(cap);
        int payload = 0;
        auto t = spindle::spawn([&] {
          payload = 7;
          done.close();
        });
        EXPECT_EQ(done.recv(), std::nullopt);
        EXPECT_EQ(payload, 7);
        t.join();
      }
    }
  });
}

}  // namespace
