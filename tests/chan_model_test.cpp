// SPDX-License-Identifier: Apache-2.0
// Model-based randomized test: random single-threaded sequences of channel operations
// (and non-blocking selects) against a trivially correct reference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "spindle/spindle.hpp"

namespace {

// The reference: a bounded FIFO with a closed flag. Unbuffered channels have no partner in
// a single-threaded run, so every non-blocking operation on them would block.
struct Model {
  std::size_t cap;
  std::deque<int> buf;
  bool closed = false;
};

// Values are boxed so that moves, destruction and leaks are checked too (ASan).
using Box = std::unique_ptr<int>;

void run_sequence(std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  // Capacities that are not powers of two skip slot indices at every lap (chan_ring.hpp).
  const std::size_t caps[] = {0, 1, 2, 3, 5, 6, 7};
  constexpr int kChans = 3;
  std::vector<spindle::Chan<Box>> chans;
  std::vector<Model> models;
  for (int i = 0; i < kChans; ++i) {
    const std::size_t cap = caps[pick(static_cast<int>(std::size(caps)))];
    chans.emplace_back(cap);
    models.push_back(Model{cap, {}, false});
  }
  int next_value = 0;
  for (int step = 0; step < 300; ++step) {
    const int c = pick(kChans);
    spindle::Chan<Box>& ch = chans[c];
    Model& m = models[c];
    const std::string where = "seed " + std::to_string(seed) + " step " + std::to_string(step);
    switch (pick(8)) {
      case 0:
      case 1: {  // try_send
        Box b = std::make_unique<int>(next_value);
        if (m.closed) {
          ASSERT_THROW(ch.try_send(std::move(b)), spindle::ChannelClosed) << where;
          ASSERT_NE(b, nullptr) << where;
        } else if (m.buf.size() < m.cap) {
          ASSERT_TRUE(ch.try_send(std::move(b))) << where;
          ASSERT_EQ(b, nullptr) << where;
          m.buf.push_back(next_value++);
        } else {
          ASSERT_FALSE(ch.try_send(std::move(b))) << where;
          ASSERT_NE(b, nullptr) << where;
        }
        break;
      }
      case 2: {  // blocking send, only where the model says it cannot block
        if (m.closed) {
          ASSERT_THROW(ch.send(std::make_unique<int>(-1)), spindle::ChannelClosed) << where;
        } else if (m.buf.size() < m.cap) {
          ch.send(std::make_unique<int>(next_value));
          m.buf.push_back(next_value++);
        }
        break;
      }
      case 3:
      case 4: {  // try_recv
        auto v = ch.try_recv();
        if (m.buf.empty()) {
          ASSERT_FALSE(v.has_value()) << where;
        } else {
          ASSERT_TRUE(v.has_value()) << where;
          ASSERT_EQ(**v, m.buf.front()) << where;
          m.buf.pop_front();
        }
        break;
      }
      case 5: {  // blocking recv where it cannot block
        if (!m.buf.empty()) {
          auto v = ch.recv();
          ASSERT_TRUE(v.has_value()) << where;
          ASSERT_EQ(**v, m.buf.front()) << where;
          m.buf.pop_front();
        } else if (m.closed) {
          ASSERT_FALSE(ch.recv().has_value()) << where;
        }
        break;
      }
      case 6: {  // a non-blocking select over every channel, one case each
        const bool send_0 = pick(2) == 0;
        const bool send_1 = pick(2) == 0;
        const bool send_2 = pick(2) == 0;
        const bool sends[kChans] = {send_0, send_1, send_2};
        // Which cases the model says are ready; a send case on a closed channel throws.
        bool any_closed_send = false;
        std::vector<int> ready;
        for (int k = 0; k < kChans; ++k) {
          const Model& mk = models[k];
          if (sends[k]) {
            if (mk.closed) any_closed_send = true;
            if (!mk.closed && mk.buf.size() < mk.cap) ready.push_back(k);
          } else if (!mk.buf.empty() || mk.closed) {
            ready.push_back(k);
          }
        }
        std::optional<Box> received;
        bool got_any = false;
        auto recv_handler = [&](std::optional<Box> v) {
          got_any = true;
          if (v) received = std::move(*v);
        };
        auto make_case_run = [&](auto&& c0, auto&& c1, auto&& c2) {
          return spindle::select(std::move(c0), std::move(c1), std::move(c2),
                                 spindle::on_default([] {}));
        };
        auto send_case = [&](int k) {
          return spindle::on_send(chans[k], std::make_unique<int>(next_value));
        };
        std::size_t fired = 0;
        auto run = [&]() {
          // Build the 8 combinations of send/recv cases explicitly (types differ).
          auto rc = [&](int k) { return spindle::on_recv(chans[k], recv_handler); };
          const int mask = (send_0 ? 1 : 0) | (send_1 ? 2 : 0) | (send_2 ? 4 : 0);
          switch (mask) {
            case 0:
              return make_case_run(rc(0), rc(1), rc(2));
            case 1:
              return make_case_run(send_case(0), rc(1), rc(2));
            case 2:
              return make_case_run(rc(0), send_case(1), rc(2));
            case 3:
              return make_case_run(send_case(0), send_case(1), rc(2));
            case 4:
              return make_case_run(rc(0), rc(1), send_case(2));
            case 5:
              return make_case_run(send_case(0), rc(1), send_case(2));
            case 6:
              return make_case_run(rc(0), send_case(1), send_case(2));
            default:
              return make_case_run(send_case(0), send_case(1), send_case(2));
          }
        };
        if (any_closed_send) {
          // Go panics as soon as the select reaches the closed send case; which cases it
          // tried first is random, so either it throws or another ready case won.
          try {
            fired = run();
          } catch (const spindle::ChannelClosed&) {
            break;
          }
        } else {
          fired = run();
        }
        if (ready.empty()) {
          ASSERT_EQ(fired, 3u) << where;  // the default
          break;
        }
        ASSERT_LT(fired, 3u) << where;
        const int k = static_cast<int>(fired);
        ASSERT_NE(std::find(ready.begin(), ready.end(), k), ready.end()) << where;
        Model& mk = models[k];
        if (sends[k]) {
          mk.buf.push_back(next_value++);
        } else {
          ASSERT_TRUE(got_any) << where;
          if (mk.buf.empty()) {
            ASSERT_FALSE(received.has_value()) << where;  // closed
          } else {
            ASSERT_TRUE(received.has_value()) << where;
            ASSERT_EQ(**received, mk.buf.front()) << where;
            mk.buf.pop_front();
          }
        }
        break;
      }
      case 7: {  // close (rarely) and size
        ASSERT_EQ(ch.size(), m.buf.size()) << where;
        ASSERT_EQ(ch.capacity(), m.cap) << where;
        if (pick(10) == 0) {
          if (m.closed) {
            ASSERT_THROW(ch.close(), spindle::ChannelError) << where;
          } else {
            ch.close();
            m.closed = true;
          }
        }
        break;
      }
    }
  }
}

TEST(ChanModel, RandomSequencesMatchTheModel) {
  for (std::uint32_t seed = 1; seed <= 400; ++seed) {
    run_sequence(seed);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(ChanModel, RandomSequencesInsideATask) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    for (std::uint32_t seed = 1000; seed <= 1100; ++seed) {
      run_sequence(seed);
      if (::testing::Test::HasFatalFailure()) return;
    }
  });
}

}  // namespace
