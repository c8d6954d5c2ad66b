// SPDX-License-Identifier: Apache-2.0
// main() of every spindle test executable: GoogleTest plus spindle's own leak listener, so
// any test that leaves a task behind fails and names it.
#include <gtest/gtest.h>

#include "spindle/testing.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new spindle::testing::LeakCheck);
  return RUN_ALL_TESTS();
}
