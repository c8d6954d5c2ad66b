// SPDX-License-Identifier: Apache-2.0
// Skynet: a million-leaf tree of tasks, then ten thousand concurrent sleepers. A runtime
// micro-showcase (formerly the `make demo` placeholder).
#include <cstdio>
#include <numeric>
#include <vector>

#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

// Skynet: every task spawns ten children until a million leaves report their ordinal.
long skynet(long num, long size) {
  if (size == 1) return num;
  std::vector<spindle::Task<long>> children;
  children.reserve(10);
  const long child = size / 10;
  for (long i = 0; i < 10; ++i) {
    children.push_back(spindle::spawn([=] { return skynet(num + i * child, child); }));
  }
  long sum = 0;
  for (auto& c : children) sum += c.join();
  return sum;
}

}  // namespace

int main() {
  spindle::Runtime rt;
  std::printf("%s\n", rt.diagnostics().c_str());

  auto start = spindle::Clock::now();
  long sum = rt.block_on([] { return skynet(0, 1'000'000); });
  auto ms = std::chrono::duration<double, std::milli>(spindle::Clock::now() - start).count();
  std::printf("skynet: 1,111,111 tasks, sum %ld (expected 499999500000) in %.1f ms\n", sum, ms);

  start = spindle::Clock::now();
  int woke = rt.block_on([] {
    std::vector<spindle::Task<int>> sleepers;
    for (int i = 0; i < 10'000; ++i) {
      sleepers.push_back(spindle::spawn([] {
        spindle::sleep_for(50ms);
        return 1;
      }));
    }
    int n = 0;
    for (auto& s : sleepers) n += s.join();
    return n;
  });
  ms = std::chrono::duration<double, std::milli>(spindle::Clock::now() - start).count();
  std::printf("10,000 tasks slept 50 ms concurrently: %d woke, %.1f ms wall\n", woke, ms);
  std::printf("%s\n", rt.diagnostics().c_str());
  return sum == 499999500000L && woke == 10'000 ? 0 : 1;
}
