// SPDX-License-Identifier: Apache-2.0
// Context deadlines and timeouts: firing, inheritance, early cancel, deadline().
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "spindle/context.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

TEST(ContextDeadline, TimeoutFiresWithDeadlineExceeded) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto start = spindle::Clock::now();
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 30ms);
    EXPECT_FALSE(ctx.err());
    ctx.done().recv();
    auto waited = spindle::Clock::now() - start;
    EXPECT_GE(waited, 30ms);
    EXPECT_LT(waited, 2s);
    EXPECT_EQ(ctx.err(), spindle::errc::deadline_exceeded);
    cancel();  // after the fact: changes nothing
    EXPECT_EQ(ctx.err(), spindle::errc::deadline_exceeded);
  });
}

TEST(ContextDeadline, ApiSnippetWorks) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Context bg = spindle::background();
    auto [ctx, cancel] = spindle::with_cancel(bg);
    auto [tctx, tcancel] = spindle::with_timeout(ctx, 50ms);
    auto [dctx, dcancel] = spindle::with_deadline(ctx, spindle::Clock::now() + 50ms);
    static const spindle::ContextKey<std::string> user_key{"user"};
    spindle::Context vctx = spindle::with_value(tctx, user_key, std::string("ann"));
    const std::string* user = vctx.value(user_key);
    ASSERT_NE(user, nullptr);
    EXPECT_EQ(*user, "ann");
    spindle::RecvChan<spindle::Unit> done = vctx.done();
    std::error_code why = vctx.err();
    EXPECT_FALSE(why);
    std::optional<spindle::TimePoint> dl = vctx.deadline();
    EXPECT_TRUE(dl.has_value());
    cancel();
    EXPECT_EQ(vctx.err(), spindle::errc::canceled);
    EXPECT_EQ(dctx.err(), spindle::errc::canceled);
    EXPECT_FALSE(done.recv().has_value());
    tcancel();
    dcancel();
  });
}

// clang++ 14 rejects a lambda that names a structured binding in its capture list
// (`[ctx] { ... }` after `auto [ctx, cancel] = ...`); an init-capture (`[ctx = ctx]`) works
// with every supported compiler, which this test (built by the clang preset too) keeps true.
TEST(ContextDeadline, StructuredBindingIsCapturedWithAnInitCapture) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  const bool fired = rt.block_on([] {
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), std::chrono::milliseconds(1));
    auto waiter = spindle::spawn([ctx = ctx] { return !ctx.done().recv().has_value(); });
    const bool closed = waiter.join();
    cancel();
    return closed && ctx.err() == spindle::errc::deadline_exceeded;
  });
  EXPECT_TRUE(fired);
}

TEST(ContextDeadline, CancelBeforeTheDeadlineWinsForGood) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 10ms);
    cancel();
    EXPECT_EQ(ctx.err(), spindle::errc::canceled);
    spindle::sleep_for(20ms);
    EXPECT_EQ(ctx.err(), spindle::errc::canceled);
  });
}

TEST(ContextDeadline, PastDeadlineIsDoneAtOnce) {
  auto [ctx, cancel] = spindle::with_deadline(spindle::background(), spindle::Clock::now() - 1s);
  EXPECT_EQ(ctx.err(), spindle::errc::deadline_exceeded);
  EXPECT_FALSE(ctx.done().recv().has_value());
  cancel();
}

TEST(ContextDeadline, NegativeAndZeroTimeoutsAreDoneAtOnce) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    auto [neg, c1] = spindle::with_timeout(spindle::background(), -5s);
    auto [zero, c2] = spindle::with_timeout(spindle::background(), 0ms);
    auto [min, c3] = spindle::with_timeout(spindle::background(), std::chrono::hours::min());
    for (const spindle::Context* c : {&neg, &zero, &min}) {
      EXPECT_EQ(c->err(), spindle::errc::deadline_exceeded);
      ASSERT_TRUE(c->deadline().has_value());
      EXPECT_LE(*c->deadline(), spindle::Clock::now());
    }
  });
}

TEST(ContextDeadline, EndlessTimeoutsSaturateToNoDeadline) {
  spindle::Runtime rt{spindle::Options{.workers = 1}};
  rt.block_on([] {
    // Converting these to nanoseconds after now would overflow: they mean "never".
    auto [h, c1] = spindle::with_timeout(spindle::background(), std::chrono::hours::max());
    auto [s, c2] = spindle::with_timeout(spindle::background(), std::chrono::seconds::max());
    auto [m, c3] = spindle::with_deadline(spindle::background(), spindle::TimePoint::max());
    for (const spindle::Context* c : {&h, &s, &m}) {
      EXPECT_FALSE(c->err());
      EXPECT_FALSE(c->deadline().has_value());
    }
    // Under a parent with a deadline, the parent's stays in force.
    auto [p, cp] = spindle::with_timeout(spindle::background(), 1h);
    auto [child, cc] = spindle::with_timeout(p, std::chrono::hours::max());
    EXPECT_EQ(child.deadline(), p.deadline());
    cc();
    EXPECT_EQ(child.err(), spindle::errc::canceled);
    cp();
  });
}

TEST(ContextDeadline, DeadlineIsTheEarliestUpTheChain) {
  auto now = spindle::Clock::now();
  auto [outer, c1] = spindle::with_deadline(spindle::background(), now + 1h);
  auto [later, c2] = spindle::with_deadline(outer, now + 2h);
  auto [earlier, c3] = spindle::with_deadline(outer, now + 30min);
  auto [plain, c4] = spindle::with_cancel(earlier);
  EXPECT_EQ(outer.deadline(), now + 1h);
  EXPECT_EQ(later.deadline(), now + 1h) << "a later deadline than the parent's is moot";
  EXPECT_EQ(earlier.deadline(), now + 30min);
  EXPECT_EQ(plain.deadline(), now + 30min);
  c1();
  EXPECT_EQ(later.err(), spindle::errc::canceled);
  EXPECT_EQ(plain.err(), spindle::errc::canceled);
  c2();
  c3();
  c4();
}

TEST(ContextDeadline, ParentDeadlineReachesChildrenAsDeadlineExceeded) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [parent, pc] = spindle::with_timeout(spindle::background(), 10ms);
    auto [child, cc] = spindle::with_cancel(parent);
    auto [grand, gc] = spindle::with_timeout(child, 1h);
    grand.done().recv();
    EXPECT_EQ(child.err(), spindle::errc::deadline_exceeded);
    EXPECT_EQ(grand.err(), spindle::errc::deadline_exceeded);
    pc();
    cc();
    gc();
  });
}

TEST(ContextDeadline, WorksOnPlainThreadsToo) {
  auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 10ms);
  std::thread th([c = ctx] { c.done().recv(); });
  th.join();
  EXPECT_EQ(ctx.err(), spindle::errc::deadline_exceeded);
  cancel();
}

TEST(ContextDeadline, ManyShortTimeoutsAllFire) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    std::vector<spindle::ContextWithCancel> ctxs;
    for (int i = 0; i < 200; ++i) {
      ctxs.push_back(
          spindle::with_timeout(spindle::background(), std::chrono::microseconds(50 * i)));
    }
    for (auto& c : ctxs) {
      c.ctx.done().recv();
      EXPECT_EQ(c.ctx.err(), spindle::errc::deadline_exceeded);
    }
  });
}

}  // namespace
