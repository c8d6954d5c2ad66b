// SPDX-License-Identifier: Apache-2.0
// Pipelines as values: build a pipeline from stages with `|`, store it, run it on inputs.
#include <cstdio>
#include <string>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

int main() {
  spindle::Runtime rt;
  rt.block_on([] {
    spindle::Probe square_probe("square");
    auto pipeline = spindle::stage::map([](int v) { return v * v; }, &square_probe) |
                    spindle::stage::filter([](int v) { return v % 3 != 0; }) |
                    spindle::stage::map([](int v) {
                      std::string s = "<";     // appended, not `"<" + ... + ">"`: g++ 12 -O3
                      s += std::to_string(v);  // warns (-Wrestrict) about its own inlined copy
                      s += '>';
                      return s;
                    });

    auto [ctx, cancel] = spindle::with_cancel(spindle::background());
    for (const std::string& s : pipeline(ctx, spindle::generate(ctx, {1, 2, 3, 4, 5, 6}))) {
      std::printf("%s ", s.c_str());
    }
    std::printf("\n");
    // The same pipeline, fluently, after a source and before a take.
    auto flow = spindle::flow(ctx, spindle::repeat_fn(ctx, [] { return 7; })) | pipeline |
                spindle::stage::take(3);
    for (const std::string& s : flow.chan()) std::printf("%s ", s.c_str());
    std::printf("\n%s\n", square_probe.to_string().c_str());
    cancel();  // stops the endless source
  });
}
