// SPDX-License-Identifier: Apache-2.0
// The AArch64 context switch, checked under qemu-user (tools/check_aarch64.sh): round trips,
// callee-saved x19-x28 and d8-d15, FPCR per context, and an aligned fresh stack.
#include <cfenv>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "runtime/machine/machine_context.hpp"
using namespace spindle::detail;
MachineContext a, b;
int trips = 0;
std::uintptr_t sp = 0;
int round_in = -1;
[[gnu::noinline]] void trash() {
  asm volatile(
      "mov x19, xzr\n\tmov x20, xzr\n\tmov x21, xzr\n\tmov x22, xzr\n\tmov x23, xzr\n\tmov x24, "
      "xzr\n\tmov x25, xzr\n\tmov x26, xzr\n\tmov x27, xzr\n\tmov x28, xzr\n\tfmov d8, xzr\n\tfmov "
      "d9, xzr\n\tfmov d10, xzr\n\tfmov d11, xzr\n\tfmov d12, xzr\n\tfmov d13, xzr\n\tfmov d14, "
      "xzr\n\tfmov d15, xzr\n" ::
          : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "d8", "d9", "d10",
            "d11", "d12", "d13", "d14", "d15");
}
void body(void*) {
  sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  round_in = std::fegetround();
  std::fesetround(FE_UPWARD);
  for (;;) {
    trash();
    ++trips;
    context_switch(b, a);
  }
}
int main() {
  std::vector<char> st(65536 + 8);
  context_init(b, st.data(), st.data() + st.size(), &body, nullptr);
  register long k19 asm("x19") = 19;
  register long k28 asm("x28") = 28;
  register double d8 asm("d8") = 8.5;
  register double d15 asm("d15") = 15.5;
  asm volatile("" : "+r"(k19), "+r"(k28), "+w"(d8), "+w"(d15));
  std::fesetround(FE_TOWARDZERO);
  for (int i = 0; i < 1000; ++i) context_switch(a, b);
  asm volatile("" : "+r"(k19), "+r"(k28), "+w"(d8), "+w"(d15));
  long g19 = k19, g28 = k28;
  double g8 = d8, g15 = d15;
  int ok = trips == 1000 && g19 == 19 && g28 == 28 && g8 == 8.5 && g15 == 15.5 &&
           std::fegetround() == FE_TOWARDZERO && round_in == FE_TONEAREST && sp % 16 == 0;
  std::printf("trips=%d x19=%ld x28=%ld d8=%g d15=%g round=%d fiber_round_in=%d sp%%16=%lu -> %s\n",
              trips, g19, g28, g8, g15, std::fegetround(), round_in, (unsigned long)(sp % 16),
              ok ? "OK" : "FAIL");
  return ok ? 0 : 1;
}
