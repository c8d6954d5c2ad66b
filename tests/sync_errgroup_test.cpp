// SPDX-License-Identifier: Apache-2.0
// spindle::ErrGroup: first error wins and cancels the group's context, exceptions, limits.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <system_error>

#include "spindle/errgroup.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

std::error_code io_error() { return std::make_error_code(std::errc::io_error); }

TEST(SyncErrGroup, FirstErrorIsReturnedAndCancelsTheOthers) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::ErrGroup g(spindle::background());
    std::atomic<int> stopped_early{0};
    for (int i = 0; i < 4; ++i) {
      g.spawn([&](const spindle::Context& c) -> std::error_code {
        // Would take 5 s unless the group is cancelled.
        spindle::select(spindle::on_recv(c.done()), spindle::on_recv(spindle::after(5s)));
        if (c.err() == spindle::errc::canceled) stopped_early.fetch_add(1);
        return c.err();
      });
    }
    g.spawn([]() -> std::error_code {
      spindle::sleep_for(5ms);
      return io_error();
    });
    auto start = spindle::Clock::now();
    EXPECT_EQ(g.wait(), io_error());
    EXPECT_LT(spindle::Clock::now() - start, 2s);
    EXPECT_EQ(stopped_early.load(), 4);
    EXPECT_EQ(g.context().err(), spindle::errc::canceled);
  });
}

TEST(SyncErrGroup, NoErrorGivesAnEmptyCodeAndWaitCancelsTheContext) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    spindle::ErrGroup g(ctx);
    std::atomic<int> ran{0};
    for (int i = 0; i < 5; ++i) {
      g.spawn([&] { ran.fetch_add(1); });
    }
    EXPECT_FALSE(g.context().err());
    EXPECT_FALSE(g.wait());
    EXPECT_EQ(ran.load(), 5);
    EXPECT_EQ(g.context().err(), spindle::errc::canceled);
    EXPECT_FALSE(ctx.err()) << "the group must not cancel its parent";
    cancel();
  });
}

TEST(SyncErrGroup, ParentCancellationReachesTheGroup) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 10ms);
    spindle::ErrGroup g(ctx);
    g.spawn([](const spindle::Context& c) {
      c.done().recv();
      return c.err();
    });
    EXPECT_EQ(g.wait(), spindle::errc::deadline_exceeded);
    cancel();
  });
}

TEST(SyncErrGroup, AnExceptionIsAFailureAndWaitRethrowsIt) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::ErrGroup g;
    g.spawn([](const spindle::Context& c) -> std::error_code {
      c.done().recv();  // released by the failure below
      return {};
    });
    g.spawn([]() -> std::error_code { throw std::runtime_error("bad input"); });
    EXPECT_THROW(g.wait(), std::runtime_error);
  });
}

TEST(SyncErrGroup, LimitBoundsConcurrencyAndTrySpawnRespectsIt) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::ErrGroup g;
    g.set_limit(2);
    std::atomic<int> running{0}, peak{0};
    for (int i = 0; i < 8; ++i) {
      g.spawn([&] {
        int now = running.fetch_add(1) + 1;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        spindle::sleep_for(2ms);
        running.fetch_sub(1);
      });
    }
    EXPECT_FALSE(g.wait());
    EXPECT_LE(peak.load(), 2) << "never more than the limit at once";
    EXPECT_GE(peak.load(), 1);

    spindle::ErrGroup h;
    h.set_limit(1);
    spindle::Chan<spindle::Unit> release;
    EXPECT_TRUE(h.try_spawn([release] { release.recv(); }));
    EXPECT_FALSE(h.try_spawn([] {}));
    release.close();
    EXPECT_FALSE(h.wait());
  });
}

TEST(SyncErrGroup, SetLimitMisuseThrows) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::ErrGroup g;
    EXPECT_THROW(g.set_limit(0), std::invalid_argument);
    g.spawn([] {});
    EXPECT_THROW(g.set_limit(3), std::logic_error);
    g.wait();
  });
}

TEST(SyncErrGroup, DestructorCancelsAndWaitsForTheTasks) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  std::atomic<bool> finished{false};
  rt.block_on([&] {
    {
      spindle::ErrGroup g;
      g.spawn([&](const spindle::Context& c) {
        c.done().recv();
        finished = true;
      });
    }  // no wait(): the destructor cancels, then waits
    EXPECT_TRUE(finished.load());
  });
}

}  // namespace
