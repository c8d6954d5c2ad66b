// SPDX-License-Identifier: Apache-2.0
// generate, repeat, repeat_fn and take: sources of values that stop when done fires.
#include <cstdio>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    for (int v : spindle::generate(done, {1, 2, 3})) std::printf("generate: %d\n", v);
    for (int v : spindle::take(done, spindle::repeat(done, {1, 2}), 5)) {
      std::printf("repeat/take: %d\n", v);
    }
    int n = 0;
    for (int v : spindle::take(done, spindle::repeat_fn(done, [&n] { return n++ * 10; }), 3)) {
      std::printf("repeat_fn/take: %d\n", v);
    }
    done.close();  // stops the endless repeat and repeat_fn stages
  });
}
