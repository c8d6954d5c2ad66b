// SPDX-License-Identifier: Apache-2.0
// buffer: a queuing stage lets a bursty producer run ahead of a steady consumer.
#include <cstdio>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> burst;
    auto producer = spindle::spawn([burst] {
      auto start = spindle::Clock::now();
      for (int i = 0; i < 32; ++i) burst.send(i);
      burst.close();
      return spindle::Clock::now() - start;
    });
    int n = 0;
    for (int v : spindle::buffer(done, burst, 32)) {
      spindle::sleep_for(1ms);  // slow consumer
      n += v >= 0;
    }
    auto took = std::chrono::duration<double, std::milli>(producer.join()).count();
    std::printf("producer finished its burst in %.1f ms; consumer took %d values\n", took, n);
  });
}
