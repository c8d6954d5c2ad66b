// SPDX-License-Identifier: Apache-2.0
// Contexts: a deadline for a whole call tree, values along it, cancellation flowing down.
#include <cstdio>
#include <string>

#include "spindle/context.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {
const spindle::ContextKey<std::string> request_id{"request_id"};

// A "backend call" that takes `cost` unless the context gives up first.
std::error_code call_backend(const spindle::Context& ctx, std::chrono::milliseconds cost) {
  std::error_code err;
  spindle::select(spindle::on_recv(spindle::after(cost)),
                  spindle::on_recv(ctx.done(), [&](auto) { err = ctx.err(); }));
  std::printf("  [%s] backend call of %lld ms: %s\n", ctx.value(request_id)->c_str(),
              static_cast<long long>(cost.count()), err ? err.message().c_str() : "ok");
  return err;
}
}  // namespace

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 50ms);
    auto req = spindle::with_value(ctx, request_id, std::string("req-7"));
    call_backend(req, 10ms);   // fits in the budget
    call_backend(req, 100ms);  // does not: deadline exceeded after ~40 ms more
    auto [child, child_cancel] = spindle::with_cancel(spindle::background());
    auto creq = spindle::with_value(child, request_id, std::string("req-8"));
    auto t = spindle::spawn([creq] { return call_backend(creq, 1000ms); });
    spindle::sleep_for(5ms);
    child_cancel();  // cancels the call in flight
    t.join();
    cancel();
  });
}
