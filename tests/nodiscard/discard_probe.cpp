// SPDX-License-Identifier: Apache-2.0
// Must not compile with -Werror=unused-result: each PROBE drops a result whose loss is a bug
// (tests/CMakeLists.txt builds one target per PROBE and expects the diagnostic).
#include <chrono>
#include <spindle/spindle.hpp>
#include <vector>

void probe() {
  [[maybe_unused]] spindle::Chan<int> ch{1};
  [[maybe_unused]] std::vector<spindle::RecvChan<int>> inputs{ch};
#if PROBE == 1
  spindle::with_cancel(spindle::background());  // the cancel function lost: a leak
#elif PROBE == 2
  spindle::with_timeout(spindle::background(), std::chrono::milliseconds(1));
#elif PROBE == 3
  spindle::with_deadline(spindle::background(), spindle::Clock::now());
#elif PROBE == 4
  spindle::spawn([] {});  // neither joined nor detached: reported as never joined
#elif PROBE == 5
  ch.try_recv();  // a value taken off the channel and lost
#elif PROBE == 6
  spindle::select_recv(inputs);  // the value received is lost
#elif PROBE == 7
  spindle::Result<int>::failure(std::make_error_code(std::errc::io_error));  // an error lost
#elif PROBE == 8
  spindle::RecvChan<int>(ch).try_recv();
#endif
}
