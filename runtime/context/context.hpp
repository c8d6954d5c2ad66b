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

namespace spindle::detail {

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

extern "C" void spindle_context_switch(void** save_sp, void* resume_sp);
extern "C" void spindle_context_trampoline();

inline void context_init(MachineContext& ctx, void* /*stack_low*/, void* stack_high,
                         ContextEntry entry, void* arg) {
  auto top = reinterpret_cast<std::uintptr_t>(stack_high) & ~std::uintptr_t{15};
  auto* slot = reinterpret_cast<std::uint64_t*>(top);
#if defined(__x86_64__)
  // Frame picture in switch_x86_64.S. The return slot sits 8 below a 16-byte boundary, so
  // after `ret` pops it the trampoline runs with rsp 16-byte aligned, as its call requires.
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

inline void context_switch(MachineContext& from, MachineContext& to) {
  spindle_context_switch(&from.sp, to.sp);
}

#endif

}  // namespace spindle::detail
