// SPDX-License-Identifier: Apache-2.0
// spindle::Result<T> and spindle::errc.
#include "spindle/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <system_error>

#include "spindle/errc.hpp"
#include "spindle/spindle.hpp"

namespace {

TEST(Result, HoldsAValueImplicitly) {
  spindle::Result<int> good = 5;
  EXPECT_TRUE(good.has_value());
  EXPECT_TRUE(static_cast<bool>(good));
  EXPECT_EQ(good.value(), 5);
  EXPECT_EQ(*good, 5);
  EXPECT_FALSE(good.error());
  spindle::Result<std::string> s = "abc";
  EXPECT_EQ(s->size(), 3u);
}

TEST(Result, HoldsAnErrorAndValueThrowsSystemErrorWithIt) {
  auto ec = std::make_error_code(std::errc::io_error);
  spindle::Result<int> bad = spindle::Result<int>::failure(ec);
  EXPECT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), ec);
  EXPECT_EQ(bad.value_or(7), 7);
  try {
    (void)bad.value();
    FAIL() << "value() of a failure must throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), ec);
  }
}

TEST(Result, FailureNeedsANonZeroCode) {
  EXPECT_THROW(static_cast<void>(spindle::Result<int>::failure(std::error_code{})),
               std::invalid_argument);
  EXPECT_THROW(static_cast<void>(spindle::Result<void>::failure(std::error_code{})),
               std::invalid_argument);
}

TEST(Result, MoveOnlyValuesAndVoid) {
  spindle::Result<std::unique_ptr<int>> r = std::make_unique<int>(3);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 3);
  spindle::Result<void> ok;
  EXPECT_TRUE(ok.has_value());
  ok.value();
  auto bad = spindle::Result<void>::failure(spindle::errc::canceled);
  EXPECT_THROW(bad.value(), std::system_error);
  EXPECT_EQ(bad.error(), spindle::errc::canceled);
}

TEST(Result, Compares) {
  spindle::Result<int> a = 1, b = 1, c = 2;
  auto e = spindle::Result<int>::failure(std::make_error_code(std::errc::io_error));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, e);
  EXPECT_EQ(e, e);
}

TEST(Result, TravelsThroughAChannel) {
  spindle::Runtime rt{spindle::Options{.workers = 2}};
  rt.block_on([] {
    spindle::Chan<spindle::Result<int>> ch(2);
    ch.send(spindle::Result<int>(1));
    ch.send(spindle::Result<int>::failure(std::make_error_code(std::errc::timed_out)));
    EXPECT_EQ(ch.recv()->value(), 1);
    EXPECT_EQ(ch.recv()->error(), std::errc::timed_out);
  });
}

TEST(Errc, IsAnErrorCodeEnumOfTheSpindleCategory) {
  std::error_code c = spindle::errc::canceled;
  EXPECT_EQ(c, spindle::errc::canceled);
  EXPECT_NE(c, spindle::errc::deadline_exceeded);
  EXPECT_STREQ(c.category().name(), "spindle");
  EXPECT_EQ(c.message(), "context canceled");
  EXPECT_EQ(std::error_code(spindle::errc::deadline_exceeded).message(),
            "context deadline exceeded");
  // Portable conditions.
  EXPECT_EQ(c, std::errc::operation_canceled);
  EXPECT_EQ(std::error_code(spindle::errc::deadline_exceeded), std::errc::timed_out);
  EXPECT_TRUE(static_cast<bool>(c));
}

}  // namespace
