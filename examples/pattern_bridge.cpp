// SPDX-License-Identifier: Apache-2.0
// bridge: a channel of channels read as one flat channel.
#include <cstdio>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    spindle::Chan<spindle::Unit> done;
    spindle::Chan<spindle::RecvChan<int>> streams;
    spindle::spawn([streams, done] {
      for (int i = 0; i < 4; ++i) streams.send(spindle::generate(done, {i * 10, i * 10 + 1}));
      streams.close();
    }).detach();
    for (int v : spindle::bridge(done, streams)) std::printf("%d ", v);
    std::printf("\n");
  });
}
