// SPDX-License-Identifier: Apache-2.0
// Machine context of a fiber: the bare register switch, below any scheduling policy.
//
// Two back ends share this interface. The assembly one (switch_x86_64.S, switch_aarch64.S)
// saves only the callee-saved state the ABI requires on the suspended stack and keeps one
// pointer per context. The ucontext one (switch_ucontext.cpp) exists for platforms without
// hand-written switches and as a reference the same test suite can run against.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(SPINDLE_CONTEXT_UCONTEXT)
#include <ucontext.h>
#endif

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// Entry point of a fresh context; receives the argument given to context_init. Must never
/// return: a fiber ends by switching away for the last time.
using ContextEntry = void (*)(void* arg);

struct MachineContext {
#if defined(SPINDLE_CONTEXT_UCONTEXT)
  ucontext_t uc;
#else
  void* sp = nullptr;  // stack pointer of the suspended context; its frame holds the registers
#endif
};

#if defined(SPINDLE_CONTEXT_UCONTEXT)

/// Prepares `ctx` so that the first switch to it calls entry(arg) on the stack
/// [stack_low, stack_high). The stack must stay valid until the context is abandoned.
void context_init(MachineContext& ctx, void* stack_low, void* stack_high, ContextEntry entry,
                  void* arg);

/// Saves the running context into `from` and resumes `to`. Returns when something switches
/// back to `from`.
void context_switch(MachineContext& from, MachineContext& to);

#else

#if !defined(__x86_64__)
extern "C" void spindle_context_switch(void** save_sp, void* resume_sp);
#endif
extern "C" void spindle_context_trampoline();

#if defined(__x86_64__)
/// How a switch restores the resumed context's floating-point control words (MXCSR, x87
/// control word); both ways keep them per context. `compare`: only when they differ from
/// the suspender's, reading back what it just stored (cheapest where that store forwards,
/// as on Intel cores); `always`: unconditionally, never reading them back (cheapest where
/// the read-back stalls, as on AMD Zen). Chosen once per process from the CPU vendor.
enum class FpRestore : unsigned char { always = 0, compare = 1 };
FpRestore fp_restore_policy() noexcept;
/// Tests and benchmarks only: switches must not be running on other threads meanwhile.
void set_fp_restore_policy(FpRestore policy) noexcept;
#endif

inline void context_init(MachineContext& ctx, void* /*stack_low*/, void* stack_high,
                         ContextEntry entry, void* arg) {
  auto top = reinterpret_cast<std::uintptr_t>(stack_high) & ~std::uintptr_t{15};
  auto* slot = reinterpret_cast<std::uint64_t*>(top);
#if defined(__x86_64__)
  // Frame picture in switch_x86_64.S. The resume slot sits 8 below a 16-byte boundary, so
  // once the switch pops it the trampoline runs with rsp 16-byte aligned, as its call requires.
  *--slot = reinterpret_cast<std::uint64_t>(&spindle_context_trampoline);  // return address
  *--slot = 0;                                         // rbp: ends frame-pointer walks
  *--slot = 0;                                         // rbx
  *--slot = reinterpret_cast<std::uint64_t>(entry);    // r12
  *--slot = reinterpret_cast<std::uint64_t>(arg);      // r13
  *--slot = 0;                                         // r14
  *--slot = 0;                                         // r15
  *--slot = 0;                                         // unused
  *--slot = 0x1F80u | (std::uint64_t{0x037Fu} << 32);  // default MXCSR and x87 control word
#elif defined(__aarch64__)
  // Frame picture in switch_aarch64.S.
  slot -= 22;
  for (int i = 0; i < 22; ++i) slot[i] = 0;
  slot[0] = reinterpret_cast<std::uint64_t>(entry);                         // x19
  slot[1] = reinterpret_cast<std::uint64_t>(arg);                           // x20
  slot[11] = reinterpret_cast<std::uint64_t>(&spindle_context_trampoline);  // x30
  slot[20] = 0;                                                             // FPCR: defaults
#else
#error "spindle's assembly context switch supports x86-64 and AArch64; use SPINDLE_CONTEXT=ucontext"
#endif
  ctx.sp = slot;
}

#if defined(__x86_64__)

// Caller-saved registers that exist only with AVX-512 (the compiler may use them when it
// targets AVX-512), declared clobbered by the switch below.
#if defined(__AVX512F__)
#define SPINDLE_CONTEXT_AVX512_CLOBBERS                                                         \
  "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",     \
      "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k0", "k1", "k2", "k3", "k4", "k5", \
      "k6", "k7",
#else
#define SPINDLE_CONTEXT_AVX512_CLOBBERS
#endif

// The resume label is reached by an indirect jump: with -fcf-protection (IBT) it starts
// with endbr64 (switch_x86_64.S, "Control-flow enforcement").
#if defined(__CET__) && (__CET__ & 1)
#define SPINDLE_CONTEXT_LANDING_PAD "endbr64\n\t"
#else
#define SPINDLE_CONTEXT_LANDING_PAD
#endif

/// Saves the running context into `from` and resumes `to`. Returns when something switches
/// back to `from`.
///
/// Inlined at every call site rather than called: the suspended context resumes at a label
/// inside its own caller, reached by an indirect jump, so no call/ret pair spans the switch.
/// Through a called function the resumed side either returns with `ret` (predicted from the
/// suspender's call, wrong whenever the two sides called from different places) or jumps
/// (correct prediction, but the call's return-stack entry is never popped, and every later
/// return of the resumed side mispredicts, four of them per yield). Frame layout and the
/// control-word rules: switch_x86_64.S. The 128 bytes below rsp are the red zone, which the
/// surrounding code may be using; the frame goes beneath it.
inline void context_switch(MachineContext& from, MachineContext& to) {
  asm volatile(
      "leaq   -128(%%rsp), %%rsp\n\t"
      "leaq   1f(%%rip), %%rax\n\t"
      "pushq  %%rax\n\t"
      "pushq  %%rbp\n\t"
      "pushq  %%rbx\n\t"
      "pushq  %%r12\n\t"
      "pushq  %%r13\n\t"
      "pushq  %%r14\n\t"
      "pushq  %%r15\n\t"
      "subq   $16, %%rsp\n\t"
      "stmxcsr (%%rsp)\n\t"
      "fnstcw 4(%%rsp)\n\t"
      "movq   %%rsp, (%[save])\n\t"
      "movq   %%rsp, %%rax\n\t"
      "movq   %[resume], %%rsp\n\t"
      "jmp    spindle_context_resume\n"
      "1:\n\t" SPINDLE_CONTEXT_LANDING_PAD "leaq   128(%%rsp), %%rsp\n\t"
      :
      : [save] "r"(&from.sp), [resume] "r"(to.sp)
      : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2", "xmm3",
        "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
        "xmm15", SPINDLE_CONTEXT_AVX512_CLOBBERS "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)",
        "st(6)", "st(7)", "mm0", "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7", "fpsr", "cc",
        "memory");
}

#else

inline void context_switch(MachineContext& from, MachineContext& to) {
  spindle_context_switch(&from.sp, to.sp);
}
#endif

#endif

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
