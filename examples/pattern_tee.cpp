// SPDX-License-Identifier: Apache-2.0
// tee: every value to two consumers, in order.
#include <cstdio>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    auto [left, right] = spindle::tee(done, spindle::generate(done, {1, 2, 3}));
    for (int i = 0; i < 3; ++i) {
      int l = *left.recv();
      int r = *right.recv();
      std::printf("left %d, right %d\n", l, r);
    }
    done.close();
  });
}
