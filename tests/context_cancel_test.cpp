// SPDX-License-Identifier: Apache-2.0
// Context cancellation: background, with_cancel, propagation down (never up), done channels,
// idempotence, detaching, concurrency.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "spindle/context.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

// True if `done` is closed right now (never blocks).
bool closed(const spindle::RecvChan<spindle::Unit>& done) {
  bool fired = false;
  spindle::select(spindle::on_recv(done, [&](std::optional<spindle::Unit> v) { fired = !v; }),
                  spindle::on_default([] {}));
  return fired;
}

TEST(ContextCancel, BackgroundAndTodoAreNeverDone) {
  for (const spindle::Context& bg : {spindle::background(), spindle::todo(), spindle::Context{}}) {
    EXPECT_TRUE(bg.done().is_nil());
    EXPECT_FALSE(bg.err());
    EXPECT_FALSE(bg.deadline().has_value());
  }
}

TEST(ContextCancel, CancelClosesDoneAndSetsErr) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    auto done = ctx.done();
    EXPECT_FALSE(done.is_nil());
    EXPECT_FALSE(ctx.err());
    EXPECT_FALSE(closed(done));
    cancel();
    EXPECT_TRUE(closed(done));
    EXPECT_EQ(ctx.err(), spindle::errc::canceled);
    EXPECT_FALSE(ctx.done().recv().has_value());
  });
}

TEST(ContextCancel, DoneIsTheSameChannelEveryTimeAndMadeClosedWhenLate) {
  auto [ctx, cancel] = spindle::with_cancel(spindle::background());
  EXPECT_EQ(ctx.done(), ctx.done());
  auto [late, late_cancel] = spindle::with_cancel(spindle::background());
  late_cancel();
  auto d = late.done();  // first asked for after cancellation
  EXPECT_FALSE(d.recv().has_value());
  cancel();
}

TEST(ContextCancel, CancelIsIdempotentAndCopyable) {
  auto [ctx, cancel] = spindle::with_cancel(spindle::background());
  spindle::CancelFunc copy = cancel;
  copy();
  cancel();
  copy();
  EXPECT_EQ(ctx.err(), spindle::errc::canceled);
  spindle::CancelFunc empty;
  empty();  // a default-constructed CancelFunc does nothing
}

TEST(ContextCancel, WakesATaskBlockedOnDone) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    auto waiter = spindle::spawn([c = ctx] {
      c.done().recv();
      return c.err();
    });
    spindle::sleep_for(5ms);
    cancel();
    EXPECT_EQ(waiter.join(), spindle::errc::canceled);
  });
}

TEST(ContextCancel, PropagatesToEveryDescendantNeverToTheParentOrSiblings) {
  auto [root, root_cancel] = spindle::with_cancel(spindle::background());
  auto [mid, mid_cancel] = spindle::with_cancel(root);
  auto [sib, sib_cancel] = spindle::with_cancel(root);
  static const spindle::ContextKey<int> k{"k"};
  auto val = spindle::with_value(mid, k, 1);  // a value node in between
  auto [leaf, leaf_cancel] = spindle::with_cancel(val);
  auto [tleaf, tleaf_cancel] = spindle::with_timeout(leaf, 1h);
  auto leaf_done = leaf.done();

  mid_cancel();
  EXPECT_EQ(mid.err(), spindle::errc::canceled);
  EXPECT_EQ(val.err(), spindle::errc::canceled);
  EXPECT_EQ(leaf.err(), spindle::errc::canceled);
  EXPECT_EQ(tleaf.err(), spindle::errc::canceled);
  EXPECT_FALSE(leaf_done.recv().has_value());
  EXPECT_FALSE(root.err()) << "cancellation must never flow up";
  EXPECT_FALSE(sib.err()) << "nor sideways";
  root_cancel();
  EXPECT_EQ(sib.err(), spindle::errc::canceled);
  // The first reason sticks.
  EXPECT_EQ(mid.err(), spindle::errc::canceled);
  sib_cancel();
  leaf_cancel();
  tleaf_cancel();
}

TEST(ContextCancel, ChildOfADoneParentIsBornDone) {
  auto [parent, cancel] = spindle::with_cancel(spindle::background());
  cancel();
  auto [child, child_cancel] = spindle::with_cancel(parent);
  EXPECT_EQ(child.err(), spindle::errc::canceled);
  EXPECT_FALSE(child.done().recv().has_value());
  child_cancel();
}

TEST(ContextCancel, DroppedChildrenLeaveTheParentSafely) {
  auto [parent, cancel] = spindle::with_cancel(spindle::background());
  for (int i = 0; i < 100; ++i) {
    auto [child, child_cancel] = spindle::with_cancel(parent);  // dropped without cancel
    auto [grand, grand_cancel] = spindle::with_timeout(child, 1h);
    (void)grand;
  }
  {
    auto [kept, kept_cancel] = spindle::with_cancel(parent);
    kept_cancel();  // detaches at once
  }
  cancel();  // must not touch any of the destroyed children (ASan checks)
  EXPECT_EQ(parent.err(), spindle::errc::canceled);
}

TEST(ContextCancel, ACancelledOrDestroyedChildDetachesFromItsParent) {
  auto [parent, cancel] = spindle::with_cancel(spindle::background());
  std::vector<spindle::ContextWithCancel> kept;
  for (int i = 0; i < 1000; ++i) kept.push_back(spindle::with_cancel(parent));
  static const spindle::ContextKey<int> key{"k"};
  auto via_value = spindle::with_value(parent, key, 0);
  kept.push_back(spindle::with_timeout(via_value, 1h));
  EXPECT_EQ(spindle::detail::context_linked_children(parent), 1001u);
  for (auto& k : kept) k.cancel();  // handles stay alive: only detaching frees the links
  EXPECT_EQ(spindle::detail::context_linked_children(parent), 0u);
  {
    auto [dropped, dropped_cancel] = spindle::with_cancel(parent);
    EXPECT_EQ(spindle::detail::context_linked_children(parent), 1u);
  }
  EXPECT_EQ(spindle::detail::context_linked_children(parent), 0u);
  EXPECT_FALSE(parent.err());
  cancel();
}

TEST(ContextCancel, TenThousandChildrenAreCancelledTogether) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [parent, cancel] = spindle::with_cancel(spindle::background());
    std::vector<spindle::Context> children;
    std::vector<spindle::CancelFunc> cancels;
    for (int i = 0; i < 10000; ++i) {
      auto [c, cc] = spindle::with_cancel(parent);
      children.push_back(c);
      cancels.push_back(cc);
    }
    // Half of them detach first.
    for (int i = 0; i < 10000; i += 2) cancels[static_cast<std::size_t>(i)]();
    cancel();
    for (const auto& c : children) ASSERT_EQ(c.err(), spindle::errc::canceled);
  });
}

TEST(ContextCancel, ConcurrentCancelsFromTasksAndThreadsAreSafe) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  for (int round = 0; round < 20; ++round) {
    auto [root, root_cancel] = spindle::with_cancel(spindle::background());
    std::vector<spindle::ContextWithCancel> kids;
    for (int i = 0; i < 20; ++i) kids.push_back(spindle::with_cancel(root));
    std::vector<spindle::Task<void>> tasks;
    for (int i = 0; i < 20; ++i) {
      auto kid = kids[static_cast<std::size_t>(i)];
      tasks.push_back(rt.spawn([kid] {
        auto [g, gc] = spindle::with_cancel(kid.ctx);
        kid.cancel();
        g.done().recv();
        gc();
      }));
    }
    auto rc = root_cancel;
    std::thread th([rc] { rc(); });
    for (auto& t : tasks) t.join();
    th.join();
    EXPECT_EQ(root.err(), spindle::errc::canceled);
  }
}

TEST(ContextCancel, ChildrenDroppedWhileTheParentCancelsAreNeverTouchedAfterwards) {
  // A child's destructor skips the parent's lock when it finds itself unlinked; the parent
  // unlinks each child only after cancelling it. Dropping the last handles of children on
  // two threads while a third cancels the parent exposes any other order (ASan: use after
  // free; TSan: a race on the child's fields).
  for (int round = 0; round < 30; ++round) {
    auto [root, root_cancel] = spindle::with_cancel(spindle::background());
    std::vector<spindle::ContextWithCancel> left;
    std::vector<spindle::ContextWithCancel> right;
    for (int i = 0; i < 300; ++i) {
      auto& side = i % 2 == 0 ? left : right;
      side.push_back(spindle::with_cancel(root));
      (void)side.back().ctx.done();  // a done channel to close, so cancel takes longer
    }
    std::atomic<int> ready{0};
    auto drop = [&ready](std::vector<spindle::ContextWithCancel>& mine) {
      ready.fetch_add(1);
      while (ready.load() < 3) {
      }
      while (!mine.empty()) mine.pop_back();  // the last handles: each node is destroyed
    };
    std::thread a(drop, std::ref(left));
    std::thread b(drop, std::ref(right));
    ready.fetch_add(1);
    while (ready.load() < 3) {
    }
    root_cancel();
    a.join();
    b.join();
    EXPECT_EQ(spindle::detail::context_linked_children(root), 0u);
  }
}

}  // namespace
