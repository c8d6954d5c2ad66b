// SPDX-License-Identifier: Apache-2.0
// The bias of buffered channels to the worker of a one-worker runtime (chan_ring.hpp,
// "Bias"): the owner's plain path keeps the ring's semantics, and the first operation from
// another thread, which may land while the owner is inside an operation, loses nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "runtime/process_fence.hpp"
#include "spindle/chan.hpp"
#include "spindle/detail/chan_ring.hpp"
#include "spindle/runtime.hpp"
#include "spindle/select.hpp"
#include "spindle/task.hpp"

namespace {

using spindle::detail::ChanRing;
using spindle::detail::ChanStatus;

// Makes this thread an owner for the rings it constructs, as a one-worker runtime's worker is.
class OwnerTag {
 public:
  OwnerTag() { spindle::detail::t_solo_worker_tag = this; }
  ~OwnerTag() { spindle::detail::t_solo_worker_tag = nullptr; }
  OwnerTag(const OwnerTag&) = delete;
  OwnerTag& operator=(const OwnerTag&) = delete;
};

bool fences_available() { return spindle::detail::process_fence_available(); }

TEST(ChanBias, OwnerKeepsRingSemanticsOnThePlainPath) {
  if (!fences_available()) GTEST_SKIP() << "no membarrier here: no ring is ever biased";
  OwnerTag owner;
  ChanRing<std::unique_ptr<int>> ring(3);
  EXPECT_TRUE(ring.biased());
  for (int i = 0; i < 3; ++i) {
    auto v = std::make_unique<int>(i);
    ASSERT_EQ(ring.try_push(v), ChanStatus::ok);
    EXPECT_EQ(v, nullptr);  // moved in
  }
  auto extra = std::make_unique<int>(99);
  EXPECT_EQ(ring.try_push(extra), ChanStatus::not_ready);  // full
  ASSERT_NE(extra, nullptr);                               // untouched
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_FALSE(ring.push_ready());
  std::optional<std::unique_ptr<int>> out;
  ASSERT_EQ(ring.try_pop(out), ChanStatus::ok);
  EXPECT_EQ(**out, 0);
  EXPECT_EQ(ring.try_push(extra), ChanStatus::ok);  // wraps into the next lap
  EXPECT_TRUE(ring.close());
  EXPECT_FALSE(ring.close());
  EXPECT_TRUE(ring.closed());
  auto late = std::make_unique<int>(7);
  EXPECT_EQ(ring.try_push(late), ChanStatus::closed);
  for (int want : {1, 2, 99}) {
    out.reset();
    ASSERT_EQ(ring.try_pop(out), ChanStatus::ok);
    EXPECT_EQ(**out, want);
  }
  out.reset();
  EXPECT_EQ(ring.try_pop(out), ChanStatus::closed);
  EXPECT_TRUE(ring.biased());  // nobody else came
}

TEST(ChanBias, AnotherThreadRevokesOnceAndSeesTheOwnersValues) {
  if (!fences_available()) GTEST_SKIP() << "no membarrier here: no ring is ever biased";
  OwnerTag owner;
  ChanRing<int> ring(8);
  for (int i = 0; i < 5; ++i) {
    int v = i;
    ASSERT_EQ(ring.try_push(v), ChanStatus::ok);
  }
  std::thread other([&] {
    EXPECT_EQ(ring.size(), 5u);  // a reader revokes too
    EXPECT_FALSE(ring.biased());
    for (int i = 0; i < 3; ++i) {
      std::optional<int> out;
      ASSERT_EQ(ring.try_pop(out), ChanStatus::ok);
      EXPECT_EQ(*out, i);
    }
  });
  other.join();
  EXPECT_FALSE(ring.biased());  // for good: the owner now takes the shared path
  for (int want : {3, 4}) {
    std::optional<int> out;
    ASSERT_EQ(ring.try_pop(out), ChanStatus::ok);
    EXPECT_EQ(*out, want);
  }
}

// A value whose moves, on a thread that asks for it, take longer than a revocation's fence
// (tens of microseconds): an owner moving one into or out of a slot is then still inside
// its plain access when the revoker's fence returns, and the revoker must wait for it.
struct SlowInt {
  static thread_local bool slow_here;
  int v = 0;
  SlowInt() = default;
  explicit SlowInt(int x) : v(x) {}
  SlowInt(SlowInt&& o) noexcept : v(o.v) { linger(); }
  SlowInt& operator=(SlowInt&& o) noexcept {
    v = o.v;
    linger();
    return *this;
  }
  static void linger() noexcept {
    if (!slow_here) return;
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
    while (std::chrono::steady_clock::now() < until) {
    }
  }
};
thread_local bool SlowInt::slow_here = false;

// The revoker's first operation lands at a random point of the owner's stream, mostly while
// the owner is inside an operation: every value still arrives once, in order.
TEST(ChanBias, RevocationRacingTheOwnerLosesNothing) {
  if (!fences_available()) GTEST_SKIP() << "no membarrier here: no ring is ever biased";
  constexpr int kRounds = 100;
  constexpr int kValues = 200;
  for (int round = 0; round < kRounds; ++round) {
    const bool owner_sends = round % 2 == 0;
    OwnerTag owner;
    ChanRing<SlowInt> ring(round % 3 == 0 ? 1 : 8);
    std::atomic<bool> ready{false}, go{false};
    std::vector<int> got;
    std::thread other([&] {
      ready.store(true);
      while (!go.load()) {
      }
      for (int i = 0; i < kValues;) {
        if (owner_sends) {
          std::optional<SlowInt> out;
          if (ring.try_pop(out) == ChanStatus::ok) {
            got.push_back(out->v);
            ++i;
          }
        } else {
          SlowInt v(i);
          if (ring.try_push(v) == ChanStatus::ok) ++i;
        }
      }
    });
    while (!ready.load()) {
    }
    go.store(true);
    for (int i = 0; i < kValues;) {
      if (owner_sends) {
        SlowInt v(i);
        if (ring.try_push(v) == ChanStatus::ok) ++i;
      } else {
        std::optional<SlowInt> out;
        if (ring.try_pop(out) == ChanStatus::ok) {
          got.push_back(out->v);
          ++i;
        }
      }
    }
    other.join();
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kValues)) << "round " << round;
    for (int i = 0; i < kValues; ++i) ASSERT_EQ(got[i], i) << "round " << round;
    EXPECT_FALSE(ring.biased());
  }
}

// Both sides send at once, so a revoker that did not wait for the owner to leave its
// operation would claim the tail position the owner is filling; then both receive at once.
TEST(ChanBias, RevocationRacingTheOwnerOnTheSameSideLosesNothing) {
  if (!fences_available()) GTEST_SKIP() << "no membarrier here: no ring is ever biased";
  constexpr int kRounds = 20;
  constexpr int kValues = 64;
  for (int round = 0; round < kRounds; ++round) {
    OwnerTag owner;
    SlowInt::slow_here = true;
    ChanRing<SlowInt> ring(2 * kValues);
    std::atomic<bool> ready{false}, go{false};
    std::thread other([&] {
      ready.store(true);
      while (!go.load()) {
      }
      for (int i = 0; i < kValues; ++i) {
        SlowInt v(kValues + i);
        ASSERT_EQ(ring.try_push(v), ChanStatus::ok);
      }
    });
    while (!ready.load()) {
    }
    go.store(true);
    for (int i = 0; i < kValues; ++i) {
      SlowInt v(i);
      ASSERT_EQ(ring.try_push(v), ChanStatus::ok);
    }
    other.join();
    SlowInt::slow_here = false;
    std::vector<int> seen;
    for (;;) {
      std::optional<SlowInt> out;
      if (ring.try_pop(out) != ChanStatus::ok) break;
      seen.push_back(out->v);
    }
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(2 * kValues)) << "round " << round;
    int next_mine = 0, next_theirs = kValues;  // each sender's values stay in order
    for (int v : seen) {
      if (v < kValues) {
        ASSERT_EQ(v, next_mine++) << "round " << round;
      } else {
        ASSERT_EQ(v, next_theirs++) << "round " << round;
      }
    }
  }
}

// Through the public API: channels made by tasks of a one-worker runtime, used by the main
// thread while the producing task still runs on the worker.
TEST(ChanBias, OneWorkerRuntimeChannelsWorkFromPlainThreads) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  for (int round = 0; round < 100; ++round) {
    auto ch = rt.block_on([] {
      spindle::Chan<int> c(4);
      spindle::spawn([c]() mutable {
        for (int i = 0; i < 100; ++i) c.send(i);
        c.close();
      }).detach();
      return c;
    });
    int want = 0;
    for (int v : ch) EXPECT_EQ(v, want++);
    EXPECT_EQ(want, 100);
  }
}

TEST(ChanBias, PlainThreadSelectsOnTaskMadeChannels) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  auto chans = rt.block_on([] {
    spindle::Chan<int> a(2), b(2);
    spindle::spawn([a, b]() mutable {
      for (int i = 0; i < 50; ++i) (i % 2 == 0 ? a : b).send(i);
      a.close();
      b.close();
    }).detach();
    return std::pair{a, b};
  });
  auto [a, b] = chans;
  long sum = 0;
  int open = 2;
  bool a_open = true, b_open = true;
  while (open > 0) {
    spindle::select(
        spindle::on_recv(a_open ? a : spindle::Chan<int>{nullptr},
                         [&](std::optional<int> v) {
                           if (v) {
                             sum += *v;
                           } else {
                             a_open = false;
                             --open;
                           }
                         }),
        spindle::on_recv(b_open ? b : spindle::Chan<int>{nullptr}, [&](std::optional<int> v) {
          if (v) {
            sum += *v;
          } else {
            b_open = false;
            --open;
          }
        }));
  }
  EXPECT_EQ(sum, 49 * 50 / 2);
}

}  // namespace
