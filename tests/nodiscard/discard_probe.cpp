// SPDX-License-Identifier: Apache-2.0
// Must not compile with -Werror=unused-result: each PROBE drops a result whose loss is a bug
// (tests/CMakeLists.txt builds one target per PROBE and expects the diagnostic).
#include <chrono>
#include <spindle/spindle.hpp>

void probe() {
#if PROBE == 1
  spindle::with_cancel(spindle::background());  // the cancel function lost: a leak
#elif PROBE == 2
  spindle::with_timeout(spindle::background(), std::chrono::milliseconds(1));
#elif PROBE == 3
  spindle::with_deadline(spindle::background(), spindle::Clock::now());
#endif
}
