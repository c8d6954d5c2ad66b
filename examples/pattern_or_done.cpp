// SPDX-License-Identifier: Apache-2.0
// or_done: range over a channel you do not control, and still stop when done fires.
#include <cstdio>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    spindle::Chan<int> feed;  // somebody else's channel: never closed
    spindle::Chan<spindle::Unit> quit;
    auto producer = spindle::spawn([feed, quit] {
      for (int i = 0;; ++i) {
        if (spindle::select(spindle::on_send(feed, i), spindle::on_recv(quit)) == 1) return;
        spindle::sleep_for(1ms);
      }
    });
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 30ms);
    int n = 0;
    for (int v : spindle::or_done(ctx, feed)) n = v;  // ends when the timeout fires
    std::printf("read until %d, then: %s\n", n, ctx.err().message().c_str());
    cancel();
    quit.close();
    producer.join();
  });
}
