// SPDX-License-Identifier: Apache-2.0
// fan_out and fan_in: widen a slow stage across several tasks, then merge the results.
#include <cstdio>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    auto jobs = spindle::generate(done, std::vector<int>(40, 1));
    auto slow = [](int v) {
      spindle::sleep_for(5ms);  // e.g. a call to another service
      return v;
    };
    auto start = spindle::Clock::now();
    int total = 0;
    for (int v : spindle::fan_in(done, spindle::fan_out(done, jobs, 8, slow))) total += v;
    auto ms = std::chrono::duration<double, std::milli>(spindle::Clock::now() - start).count();
    std::printf("%d jobs of 5 ms on 8 workers: %.0f ms (one worker: ~200 ms)\n", total, ms);
  });
}
