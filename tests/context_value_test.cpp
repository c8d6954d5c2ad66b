// SPDX-License-Identifier: Apache-2.0
// Context values: typed keys, lookup up the chain, shadowing, lifetime.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "spindle/context.hpp"
#include "spindle/spindle.hpp"

namespace {

const spindle::ContextKey<std::string> user_key{"user"};
const spindle::ContextKey<std::string> trace_key{"trace"};
const spindle::ContextKey<int> depth_key{"depth"};

TEST(ContextValue, LookupWalksUpTheChainThroughCancelNodes) {
  auto a = spindle::with_value(spindle::background(), user_key, std::string("ann"));
  auto [b, cancel] = spindle::with_cancel(a);
  auto c = spindle::with_value(b, depth_key, 3);
  ASSERT_NE(c.value(user_key), nullptr);
  EXPECT_EQ(*c.value(user_key), "ann");
  EXPECT_EQ(*c.value(depth_key), 3);
  EXPECT_EQ(c.value(trace_key), nullptr) << "same value type, different key";
  EXPECT_EQ(a.value(depth_key), nullptr) << "values never flow up";
  EXPECT_EQ(spindle::background().value(user_key), nullptr);
  EXPECT_STREQ(user_key.name(), "user");
  cancel();
  EXPECT_EQ(*c.value(user_key), "ann") << "cancellation does not drop values";
}

TEST(ContextValue, NearerValueShadowsFartherOne) {
  auto a = spindle::with_value(spindle::background(), user_key, std::string("ann"));
  auto b = spindle::with_value(a, user_key, std::string("bob"));
  EXPECT_EQ(*a.value(user_key), "ann");
  EXPECT_EQ(*b.value(user_key), "bob");
}

TEST(ContextValue, ValueLivesAsLongAsADerivedContext) {
  const std::string* p;
  spindle::Context keep;
  {
    auto a = spindle::with_value(spindle::background(), user_key, std::string(100, 'x'));
    keep = spindle::with_value(a, depth_key, 1);
    p = keep.value(user_key);
  }
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->size(), 100u);  // ASan: still alive through `keep`
}

TEST(ContextValue, ValueContextsShareTheParentsCancellation) {
  auto [ctx, cancel] = spindle::with_cancel(spindle::background());
  auto v = spindle::with_value(ctx, depth_key, 1);
  EXPECT_EQ(v.done(), ctx.done());
  cancel();
  EXPECT_EQ(v.err(), spindle::errc::canceled);
  auto bgv = spindle::with_value(spindle::background(), depth_key, 1);
  EXPECT_TRUE(bgv.done().is_nil());
}

}  // namespace
