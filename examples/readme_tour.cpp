// SPDX-License-Identifier: Apache-2.0
// The tour in README.md, built with the examples so it cannot go stale.
#include <spindle/spindle.hpp>
using namespace std::chrono_literals;

int main() {
  spindle::Runtime rt;  // one worker per hardware thread
  return rt.block_on([] {
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 1s);
    spindle::Chan<int> jobs(16);
    auto producer = spindle::spawn([=]() mutable {  // a task, with a stack of its own
      for (int i = 0; i < 100; ++i) jobs.send(i);   // parks the task when full
      jobs.close();
    });
    auto squares = spindle::map(ctx, jobs, [](int v) { return v * v; });  // a pipeline stage
    long sum = 0;
    for (;;) {
      bool open = true;
      spindle::select(
          spindle::on_recv(squares,
                           [&](std::optional<int> v) { v ? void(sum += *v) : void(open = false); }),
          spindle::on_recv(ctx.done(), [&](auto) { open = false; }));  // cancellation
      if (!open) break;
    }
    producer.join();
    return sum == 328350 ? 0 : 1;
  });
}
