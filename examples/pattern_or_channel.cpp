// SPDX-License-Identifier: Apache-2.0
// or_channel: one done channel that closes when the first of several does.
#include <cstdio>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {
// A channel closed after `d` by a task.
spindle::RecvChan<spindle::Unit> closed_after(std::chrono::milliseconds d) {
  spindle::Chan<spindle::Unit> c;
  spindle::spawn([c, d] {
    spindle::sleep_for(d);
    c.close();
  }).detach();
  return c;
}
}  // namespace

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    auto start = spindle::Clock::now();
    spindle::or_channel(
        {closed_after(300ms), closed_after(20ms), closed_after(200ms), closed_after(100ms)})
        .recv();
    auto ms = std::chrono::duration<double, std::milli>(spindle::Clock::now() - start).count();
    std::printf("done after %.0f ms (the 20 ms one)\n", ms);
  });
}
