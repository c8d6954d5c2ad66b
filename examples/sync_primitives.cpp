// SPDX-License-Identifier: Apache-2.0
// WaitGroup, Mutex, Once, Semaphore and ErrGroup: Go's sync toolbox for tasks.
#include <cstdio>
#include <mutex>
#include <system_error>

#include "spindle/errgroup.hpp"
#include "spindle/mutex.hpp"
#include "spindle/once.hpp"
#include "spindle/semaphore.hpp"
#include "spindle/spindle.hpp"
#include "spindle/waitgroup.hpp"

using namespace std::chrono_literals;

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    spindle::WaitGroup wg;
    spindle::Mutex mu;
    spindle::Once once;
    spindle::Semaphore sem(3);  // at most 3 "connections"
    int total = 0;
    for (int i = 1; i <= 10; ++i) {
      wg.spawn([&, i] {
        once.call([] { std::printf("initialised once\n"); });
        sem.acquire();
        spindle::sleep_for(2ms);
        sem.release();
        std::lock_guard lock(mu);
        total += i;
      });
    }
    wg.wait();
    std::printf("total %d\n", total);

    spindle::ErrGroup g(spindle::background());
    for (int i = 0; i < 5; ++i) {
      g.spawn([i](const spindle::Context& ctx) -> std::error_code {
        if (i == 3) return std::make_error_code(std::errc::connection_refused);
        spindle::select(spindle::on_recv(ctx.done()), spindle::on_recv(spindle::after(1s)));
        return ctx.err();
      });
    }
    std::printf("errgroup: first error: %s\n", g.wait().message().c_str());
  });
}
