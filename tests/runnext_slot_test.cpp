// SPDX-License-Identifier: Apache-2.0
// The runnext slot's thief handshake (runtime/runnext_slot.hpp): the owner uses plain loads
// and stores, a thief fences every thread and waits the owner out. The seams (`inside`)
// stop one side in the middle of its access so that the other can be run against it.
#include "runtime/runnext_slot.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "runtime/process_fence.hpp"

using namespace std::chrono_literals;
using spindle::detail::Fiber;
using spindle::detail::RunnextSlot;

namespace {

// Tokens only: the slot never looks behind the pointers.
Fiber* token(std::uintptr_t n) { return reinterpret_cast<Fiber*>(n * 16); }

void require_plain_mode() {
  if (!spindle::detail::process_fence_available()) {
    GTEST_SKIP() << "no membarrier here: runnext uses exchanges and has no handshake";
  }
}

TEST(RunnextSlot, PushReturnsWhatWasThereAndTakeEmptiesTheSlot) {
  for (auto mode :
       {RunnextSlot::Mode::solo, RunnextSlot::Mode::plain, RunnextSlot::Mode::exchange}) {
    if (mode == RunnextSlot::Mode::plain && !spindle::detail::process_fence_available()) continue;
    RunnextSlot slot;
    slot.set_mode(mode);
    EXPECT_FALSE(slot.occupied());
    EXPECT_EQ(slot.push(token(1)), nullptr);
    EXPECT_TRUE(slot.occupied());
    EXPECT_EQ(slot.push(token(2)), token(1));
    EXPECT_EQ(slot.take(), token(2));
    EXPECT_EQ(slot.take(), nullptr);
    EXPECT_EQ(slot.push(token(3)), nullptr);
    EXPECT_EQ(slot.steal(), token(3));
    EXPECT_EQ(slot.steal(), nullptr);
    EXPECT_FALSE(slot.occupied());
  }
}

// A thief that arrives while the owner is inside a plain access waits until it is done:
// otherwise both could come away with the same task.
TEST(RunnextSlot, AThiefWaitsForTheOwnersAccessInProgress) {
  require_plain_mode();
  RunnextSlot slot;
  slot.set_mode(RunnextSlot::Mode::plain);
  std::atomic<bool> stolen{false};
  Fiber* got = nullptr;
  std::thread thief;
  bool finished_inside = true;
  EXPECT_EQ(slot.push(token(1),
                      [&] {
                        thief = std::thread([&] {
                          got = slot.steal();
                          stolen.store(true);
                        });
                        std::this_thread::sleep_for(50ms);
                        finished_inside = stolen.load();
                      }),
            nullptr);
  thief.join();
  EXPECT_FALSE(finished_inside) << "the thief took the slot while the owner was inside";
  EXPECT_EQ(got, token(1));
  EXPECT_EQ(slot.take(), nullptr);
}

// While a thief holds the slot, the owner's accesses are exchanges, not plain stores: the
// two then settle who gets what through the slot itself.
TEST(RunnextSlot, TheOwnerExchangesWhileAThiefHoldsTheSlot) {
  require_plain_mode();
  RunnextSlot slot;
  slot.set_mode(RunnextSlot::Mode::plain);
  EXPECT_EQ(slot.push(token(1)), nullptr);
  bool owner_went_plain = false;
  Fiber* evicted = nullptr;
  Fiber* got = slot.steal([&] {
    std::thread owner([&] { evicted = slot.push(token(2), [&] { owner_went_plain = true; }); });
    owner.join();
  });
  EXPECT_FALSE(owner_went_plain) << "the owner used plain stores during a steal";
  EXPECT_EQ(evicted, token(1));
  EXPECT_EQ(got, token(2));
  // After the steal the owner is back on plain accesses.
  EXPECT_EQ(slot.push(token(3), [&] { owner_went_plain = true; }), nullptr);
  EXPECT_TRUE(owner_went_plain);
}

// Randomized: an owner pushing and taking flat out against two thieves, for a bounded time.
// Every token put in comes out exactly once: evicted by a push, taken, stolen, or left over.
TEST(RunnextSlot, EveryTaskComesOutExactlyOnceUnderThieves) {
  for (auto mode : {RunnextSlot::Mode::plain, RunnextSlot::Mode::exchange}) {
    if (mode == RunnextSlot::Mode::plain && !spindle::detail::process_fence_available()) continue;
    RunnextSlot slot;
    slot.set_mode(mode);
    constexpr std::uintptr_t kTokens = 200'000;
    std::vector<std::atomic<int>> seen(kTokens + 1);
    auto out = [&](Fiber* f) {
      if (f != nullptr) seen[reinterpret_cast<std::uintptr_t>(f) / 16].fetch_add(1);
    };
    std::atomic<bool> done{false};
    std::vector<std::thread> thieves;
    for (int t = 0; t < 2; ++t) {
      thieves.emplace_back([&] {
        while (!done.load()) {
          if (slot.occupied()) out(slot.steal());
          std::this_thread::yield();
        }
      });
    }
    const auto until = std::chrono::steady_clock::now() + 200ms;
    std::uintptr_t pushed = 0;
    while (pushed < kTokens && std::chrono::steady_clock::now() < until) {
      out(slot.push(token(++pushed)));
      if (pushed % 3 == 0) out(slot.take());
    }
    done.store(true);
    for (auto& t : thieves) t.join();
    out(slot.take());
    for (std::uintptr_t i = 1; i <= pushed; ++i) {
      ASSERT_EQ(seen[i].load(), 1) << "token " << i << " of " << pushed;
    }
  }
}

}  // namespace
