// SPDX-License-Identifier: Apache-2.0
// spindle/version.hpp: the macros and spindle::version() agree with each other.
#include "spindle/version.hpp"

#include <gtest/gtest.h>

#include <string>

#include "spindle/spindle.hpp"

namespace {

static_assert(SPINDLE_VERSION_MAJOR >= 0);
static_assert(SPINDLE_VERSION_MINOR >= 0);
static_assert(SPINDLE_VERSION_PATCH >= 0);
static_assert(!spindle::version().empty());

TEST(Version, StringMatchesTheMacros) {
  const std::string expected = std::to_string(SPINDLE_VERSION_MAJOR) + "." +
                               std::to_string(SPINDLE_VERSION_MINOR) + "." +
                               std::to_string(SPINDLE_VERSION_PATCH);
  EXPECT_EQ(std::string(spindle::version()), expected);
  EXPECT_EQ(std::string(SPINDLE_VERSION_STRING), expected);
}

}  // namespace
