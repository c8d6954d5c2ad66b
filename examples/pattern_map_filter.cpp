// SPDX-License-Identifier: Apache-2.0
// map and filter: the stages of a pipeline, each a task connected by channels.
#include <cstdio>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    auto nums = spindle::generate(ctx, {1, 2, 3, 4, 5, 6, 7, 8});
    auto squares = spindle::map(ctx, nums, [](int v) { return v * v; });
    auto odd = spindle::filter(ctx, squares, [](int v) { return v % 2 == 1; });
    for (int v : odd) std::printf("%d\n", v);  // 1 9 25 49
    cancel();
  });
}
