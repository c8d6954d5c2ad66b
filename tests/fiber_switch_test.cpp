// SPDX-License-Identifier: Apache-2.0
// The raw context switch: callee-saved registers and floating-point control state survive
// a round trip through another context, and a fresh context starts with an aligned stack.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cfenv>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#include <xmmintrin.h>
#endif

#include "runtime/machine/machine_context.hpp"

namespace {

using spindle::detail::context_init;
using spindle::detail::context_switch;
using spindle::detail::MachineContext;

struct Pair {
  MachineContext main;
  MachineContext fiber;
  int round_trips = 0;
  std::uintptr_t entry_sp = 0;
  int fiber_rounding = -1;
};

struct Stack {
  explicit Stack(std::size_t n) : bytes(n) {}
  void* low() { return bytes.data(); }
  void* high() { return bytes.data() + bytes.size(); }
  std::vector<unsigned char> bytes;
};

#if defined(__x86_64__)
// Overwrites every callee-saved general register; the compiler saves and restores them around
// this in the fiber's own frame, but at the switch they hold garbage that the switch must not
// leak into the other context.
[[gnu::noinline]] void trash_callee_saved() {
  asm volatile(
      "xor %%ebx, %%ebx\n\t"
      "xor %%r12d, %%r12d\n\t"
      "xor %%r13d, %%r13d\n\t"
      "xor %%r14d, %%r14d\n\t"
      "xor %%r15d, %%r15d\n\t" ::
          : "rbx", "r12", "r13", "r14", "r15");
}
#elif defined(__aarch64__)
[[gnu::noinline]] void trash_callee_saved() {
  asm volatile(
      "mov x19, xzr\n\tmov x20, xzr\n\tmov x21, xzr\n\tmov x22, xzr\n\t"
      "mov x23, xzr\n\tmov x24, xzr\n\tmov x25, xzr\n\tmov x26, xzr\n\t"
      "mov x27, xzr\n\tmov x28, xzr\n\tfmov d8, xzr\n\tfmov d9, xzr\n\t"
      "fmov d10, xzr\n\tfmov d11, xzr\n\tfmov d12, xzr\n\tfmov d13, xzr\n\t"
      "fmov d14, xzr\n\tfmov d15, xzr\n\t" ::
          : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "d8", "d9", "d10",
            "d11", "d12", "d13", "d14", "d15");
}
#else
void trash_callee_saved() {}
#endif

void fiber_body(void* arg) {
  auto* p = static_cast<Pair*>(arg);
  p->entry_sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  p->fiber_rounding = std::fegetround();
  std::fesetround(FE_UPWARD);
  for (;;) {
    trash_callee_saved();
    ++p->round_trips;
    context_switch(p->fiber, p->main);
  }
}

TEST(ContextSwitch, CalleeSavedRegistersSurvive) {
  Stack stack(64 * 1024);
  Pair p;
  context_init(p.fiber, stack.low(), stack.high(), &fiber_body, &p);
#if defined(__x86_64__) && !defined(__clang__)
  // GCC's explicit register variables pin the values in callee-saved registers across the
  // switches, so the compiler relies on the switch to preserve them.
  register long keep_rbx asm("rbx") = 0x1111;
  register long keep_r12 asm("r12") = 0x1212;
  register long keep_r13 asm("r13") = 0x1313;
  register long keep_r14 asm("r14") = 0x1414;
  register long keep_r15 asm("r15") = 0x1515;
  asm volatile("" : "+r"(keep_rbx), "+r"(keep_r12), "+r"(keep_r13), "+r"(keep_r14), "+r"(keep_r15));
#endif
  for (int i = 0; i < 3; ++i) context_switch(p.main, p.fiber);
#if defined(__x86_64__) && !defined(__clang__)
  asm volatile("" : "+r"(keep_rbx), "+r"(keep_r12), "+r"(keep_r13), "+r"(keep_r14), "+r"(keep_r15));
  const long got[] = {keep_rbx, keep_r12, keep_r13, keep_r14, keep_r15};
  EXPECT_EQ(got[0], 0x1111);
  EXPECT_EQ(got[1], 0x1212);
  EXPECT_EQ(got[2], 0x1313);
  EXPECT_EQ(got[3], 0x1414);
  EXPECT_EQ(got[4], 0x1515);
#endif
  EXPECT_EQ(p.round_trips, 3);
}

#if defined(__x86_64__) && !defined(SPINDLE_CONTEXT_UCONTEXT)
using spindle::detail::FpRestore;

// Runs the test body under one restore policy, then puts back the one this CPU uses.
class PolicyScope {
 public:
  explicit PolicyScope(FpRestore p) : saved_(spindle::detail::fp_restore_policy()) {
    spindle::detail::set_fp_restore_policy(p);
  }
  PolicyScope(const PolicyScope&) = delete;
  PolicyScope& operator=(const PolicyScope&) = delete;
  ~PolicyScope() { spindle::detail::set_fp_restore_policy(saved_); }

 private:
  FpRestore saved_;
};

constexpr FpRestore kPolicies[] = {FpRestore::always, FpRestore::compare};
const char* name(FpRestore p) { return p == FpRestore::always ? "always" : "compare"; }
#endif

void rounding_mode_is_per_context() {
  Stack stack(64 * 1024);
  Pair p;
  context_init(p.fiber, stack.low(), stack.high(), &fiber_body, &p);
  ASSERT_EQ(std::fesetround(FE_TOWARDZERO), 0);
  context_switch(p.main, p.fiber);
#if !defined(SPINDLE_CONTEXT_UCONTEXT)
  // A fresh context starts from the ABI's default rounding mode, not the creator's.
  EXPECT_EQ(p.fiber_rounding, FE_TONEAREST);
  // The fiber switched to round-upward; this context keeps its own mode.
  EXPECT_EQ(std::fegetround(), FE_TOWARDZERO);
#endif
  std::fesetround(FE_TONEAREST);
  context_switch(p.main, p.fiber);
#if !defined(SPINDLE_CONTEXT_UCONTEXT)
  // Both sides changed mode since: the fiber's round-upward must not leak back here.
  EXPECT_EQ(std::fegetround(), FE_TONEAREST);
#endif
  volatile double x = 1.0;
  volatile double third = x / 3.0;
  EXPECT_EQ(third, 1.0 / 3.0);
  std::fesetround(FE_TONEAREST);
}

TEST(ContextSwitch, FloatingPointControlStateIsPerContext) {
#if defined(__x86_64__) && !defined(SPINDLE_CONTEXT_UCONTEXT)
  for (FpRestore policy : kPolicies) {
    SCOPED_TRACE(name(policy));
    PolicyScope scope(policy);
    rounding_mode_is_per_context();
  }
#else
  rounding_mode_is_per_context();
#endif
}

#if defined(__x86_64__) && !defined(SPINDLE_CONTEXT_UCONTEXT)
struct CsrPair {
  MachineContext main;
  MachineContext fiber;
  unsigned fiber_seen = 0;
};

void csr_fiber_body(void* arg) {
  auto* p = static_cast<CsrPair*>(arg);
  for (;;) {
    p->fiber_seen = _mm_getcsr();
    context_switch(p->fiber, p->main);
  }
}

void mxcsr_control_bits_are_per_context(bool status_flags_carry_over) {
  constexpr unsigned kFlushToZero = 0x8000;
  constexpr unsigned kInexact = 0x20;
  constexpr unsigned kControl = 0xFFC0;
  const unsigned saved = _mm_getcsr();
  Stack stack(64 * 1024);
  CsrPair p;
  context_init(p.fiber, stack.low(), stack.high(), &csr_fiber_body, &p);

  _mm_setcsr((saved & kControl) | kInexact);  // a division left its sticky flag behind
  context_switch(p.main, p.fiber);
  EXPECT_EQ(p.fiber_seen & kControl, 0x1F80u) << "a fresh context starts from the defaults";
  if (status_flags_carry_over) {
    EXPECT_EQ(p.fiber_seen & kInexact, kInexact) << "status flags alone forced an ldmxcsr";
  }

  _mm_setcsr((saved & kControl) | kFlushToZero);
  context_switch(p.main, p.fiber);
  EXPECT_EQ(p.fiber_seen & kFlushToZero, 0u) << "the fiber has its own control bits";
  EXPECT_EQ(_mm_getcsr() & kFlushToZero, kFlushToZero) << "and so does this context";
  _mm_setcsr(saved);
}

// MXCSR's control bits (6-15) belong to each context, whichever way they are restored. Its
// status flags (0-5) are caller-saved in the ABI: in compare mode the switch does not pay for
// an ldmxcsr when only they differ, so they carry over.
TEST(ContextSwitch, MxcsrControlBitsArePerContextStatusFlagsAreNot) {
  for (FpRestore policy : kPolicies) {
    SCOPED_TRACE(name(policy));
    PolicyScope scope(policy);
    mxcsr_control_bits_are_per_context(policy == FpRestore::compare);
  }
}

// The policy may change between a suspension and its resume (the start-up choice can land
// after a switch made during static initialisation): every suspension stores both words.
TEST(ContextSwitch, PolicyMayChangeBetweenSwitches) {
  Stack stack(64 * 1024);
  CsrPair p;
  context_init(p.fiber, stack.low(), stack.high(), &csr_fiber_body, &p);
  const unsigned saved = _mm_getcsr();
  {
    PolicyScope scope(FpRestore::always);
    _mm_setcsr(saved | 0x8000);  // flush-to-zero on this side only
    context_switch(p.main, p.fiber);
  }
  EXPECT_EQ(p.fiber_seen & 0x8000, 0u);
  EXPECT_EQ(_mm_getcsr() & 0x8000, 0x8000u);
  {
    PolicyScope scope(FpRestore::compare);
    context_switch(p.main, p.fiber);
  }
  EXPECT_EQ(p.fiber_seen & 0x8000, 0u);
  EXPECT_EQ(_mm_getcsr() & 0x8000, 0x8000u);
  _mm_setcsr(saved);
}

TEST(ContextSwitch, RestorePolicyFollowsTheCpuVendor) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  ASSERT_NE(__get_cpuid(0, &eax, &ebx, &ecx, &edx), 0);
  const bool intel =
      ebx == signature_INTEL_ebx && ecx == signature_INTEL_ecx && edx == signature_INTEL_edx;
  EXPECT_EQ(spindle::detail::fp_restore_policy(), intel ? FpRestore::compare : FpRestore::always);
}

#endif

TEST(ContextSwitch, FreshContextStackIsAligned) {
  Stack stack(64 * 1024 + 8);  // deliberately misaligned top
  Pair p;
  context_init(p.fiber, stack.low(), stack.high(), &fiber_body, &p);
  context_switch(p.main, p.fiber);
  // The frame address of a function called with an ABI-aligned stack is 16-byte aligned.
  EXPECT_EQ(p.entry_sp % 16, 0u);
}

}  // namespace
