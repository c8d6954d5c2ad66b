// SPDX-License-Identifier: Apache-2.0
// A hand-off claims its partner under the channel lock and unparks it just after releasing
// the lock. If the runtime unwinds the partner in between, the partner must not leave (and
// free its stack frame, which holds the Waiter the unpark is about to write) before that
// unpark lands. The test hook stalls a sender inside that window to make the race certain.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "runtime/process_fence.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/worker.hpp"
#include "spindle/detail/chan_wait.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

std::atomic<bool> g_in_window{false};
std::atomic<bool> g_window_over{false};

void stall_in_window() {
  g_in_window.store(true);
  std::this_thread::sleep_for(200ms);
  g_window_over.store(true);
}

struct Hook {
  Hook() {
    g_in_window.store(false);
    g_window_over.store(false);
    spindle::detail::g_before_hand_off_unpark.store(&stall_in_window);
  }
  ~Hook() { spindle::detail::g_before_hand_off_unpark.store(nullptr); }
};

// `receive` blocks on `ch` (a plain receive or a select); a plain thread sends to it and
// stalls between claiming the receiver and unparking it, while the runtime is destroyed.
template <class Receive>
void unwind_during_hand_off(Receive receive) {
  Hook hook;
  spindle::Chan<int> ch;  // unbuffered: the send hands the value straight to the receiver
  std::atomic<int> unwound{0};
  std::atomic<bool> left_after_window{false};
  std::thread sender;
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    rt.block_on([&] {
      spindle::spawn([&, ch] {
        struct Leaving {
          std::atomic<int>& unwound;
          std::atomic<bool>& after;
          ~Leaving() {
            after.store(g_window_over.load());
            unwound.fetch_add(1);
          }
        } leaving{unwound, left_after_window};
        receive(ch);
      }).detach();
    });
    while (rt.tasks().empty() || rt.tasks().front().state == "runnable" ||
           rt.tasks().front().state == "running") {
      std::this_thread::sleep_for(1ms);
    }
    sender = std::thread([ch]() mutable { ch.send(7); });
    while (!g_in_window.load()) std::this_thread::sleep_for(1ms);
    // ~Runtime: the receiver is parked and claimed but not yet unparked; teardown resumes it
    // to unwind.
  }
  sender.join();
  EXPECT_EQ(unwound.load(), 1);
  EXPECT_TRUE(left_after_window.load())
      << "the unwound receiver left before its claimer's unpark: its frame was gone while "
         "the claimer still had to write to it";
}

TEST(ChanHandOff, UnwoundReceiverWaitsForItsClaimer) {
  unwind_during_hand_off([](spindle::Chan<int> ch) { (void)ch.recv(); });
}

TEST(ChanHandOff, UnwoundSelectWaitsForItsClaimer) {
  unwind_during_hand_off([](spindle::Chan<int> ch) {
    spindle::Chan<int> never;
    spindle::select(spindle::on_recv(ch, [](std::optional<int>) {}),
                    spindle::on_recv(never, [](std::optional<int>) {}));
  });
}

// A task hands a value to a task parked in a receive (or a select) and claims that fiber
// with a plain store (no CAS: it is the receiver's only waker, having won its wait's own
// claim) just as the runtime starts tearing down. Teardown claims every parked fiber to
// unwind it; it must wait for the claim in flight rather than claim the receiver too, which
// would resume it twice. The hook holds the sender between its check for teardown and its
// store until teardown has begun.
std::atomic<bool> g_in_claim{false};

template <class Receive>
void teardown_during_claim(Receive receive) {
  g_in_claim.store(false);
  spindle::detail::g_exclusive_claim_hook.store([] {
    if (g_in_claim.exchange(true)) return;  // only the first claim is stalled
    // Until ~Runtime has given up waiting for quiet (a second) and begun unwinding, then
    // long enough for a teardown that did not wait to claim the receiver itself.
    const spindle::detail::Scheduler& sched = spindle::detail::Worker::current()->scheduler();
    while (!sched.shutting_down()) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(100ms);
  });
  std::atomic<int> received{0};
  std::atomic<int> value{0};
  {
    spindle::Runtime rt{spindle::Options{.workers = 2, .on_leak = spindle::LeakPolicy::ignore}};
    rt.block_on([&] {
      spindle::Chan<int> ch;
      spindle::spawn([&, ch] {
        value.store(receive(ch));
        received.fetch_add(1);
      }).detach();
      spindle::spawn([ch]() mutable {
        spindle::sleep_for(20ms);  // the receiver parks first (either order claims one side)
        ch.send(7);
      }).detach();
    });
    while (!g_in_claim.load()) std::this_thread::sleep_for(1ms);
  }  // ~Runtime while the sender sits in the window
  spindle::detail::g_exclusive_claim_hook.store(nullptr);
  EXPECT_EQ(received.load(), 1);
  EXPECT_EQ(value.load(), 7);
}

TEST(ChanHandOff, TeardownWaitsForAClaimWithoutCas) {
  if (!spindle::detail::process_fence_available()) {
    GTEST_SKIP() << "no membarrier here: every claim is a CAS, and this window does not exist";
  }
  teardown_during_claim([](spindle::Chan<int> ch) { return ch.recv().value_or(-1); });
}

TEST(ChanHandOff, TeardownWaitsForAClaimOfASelectWithoutCas) {
  if (!spindle::detail::process_fence_available()) {
    GTEST_SKIP() << "no membarrier here: every claim is a CAS, and this window does not exist";
  }
  teardown_during_claim([](spindle::Chan<int> ch) {
    spindle::Chan<int> never;
    int got = -1;
    spindle::select(spindle::on_recv(ch, [&](std::optional<int> v) { got = v.value_or(-1); }),
                    spindle::on_recv(never, [](std::optional<int>) {}));
    return got;
  });
}

}  // namespace
