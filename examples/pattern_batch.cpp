// SPDX-License-Identifier: Apache-2.0
// batch: group values into chunks by size, or by time when the input is slow.
#include <cstdio>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<int> events;
    spindle::spawn([events] {
      for (int i = 0; i < 10; ++i) {
        events.send(i);
        if (i == 6) spindle::sleep_for(30ms);  // a lull: the open batch is flushed by time
      }
      events.close();
    }).detach();
    for (const auto& b : spindle::batch(done, events, 4, 10ms)) {
      std::printf("batch of %zu:", b.size());
      for (int v : b) std::printf(" %d", v);
      std::printf("\n");
    }
  });
}
