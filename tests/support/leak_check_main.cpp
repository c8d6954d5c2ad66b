// SPDX-License-Identifier: Apache-2.0
// main() of every spindle test executable: GoogleTest plus spindle's own leak listener, so
// any test that leaves a task behind fails and names it. A run with SPINDLE_IO=io_uring (the
// io_uring duplicates of the I/O tests, tests/CMakeLists.txt) on a machine where io_uring
// cannot run exits with 77, which those tests register as "skipped", and says why; unless
// SPINDLE_TEST_EXPECT_IO_REFUSAL is set, by a test that runs a child to see the refusal.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/io_choice.hpp"
#include "spindle/testing.hpp"

namespace {

bool listing(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--gtest_list_tests") == 0) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const char* io = std::getenv("SPINDLE_IO");
  if (io != nullptr && std::strcmp(io, "io_uring") == 0 && !listing(argc, argv) &&
      std::getenv("SPINDLE_TEST_EXPECT_IO_REFUSAL") == nullptr) {
    const auto probe = spindle::detail::probe_io_uring();
    if (!probe.usable) {
      std::printf("SPINDLE_IO=io_uring, but io_uring cannot run here (%s): skipped\n",
                  probe.why_not.c_str());
      return 77;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new spindle::testing::LeakCheck);
  return RUN_ALL_TESTS();
}
