// SPDX-License-Identifier: Apache-2.0
// Unwinding a suspended context with libgcc's unwinder (the one C++ exceptions use), which
// only walks the calling thread's own stack. spindle_unwind_through() bridges the two: it
// calls a function whose _Unwind_Backtrace walks up to spindle_unwind_through's frame, and
// that frame's call-frame information says its caller is the suspended context: the
// caller's stack pointer (the CFA) and every register it kept are read from a
// SuspendedRegisters record that rbx points to. The walk then carries on through the
// suspended stack as if that context had called spindle_unwind_through.
//
// Frame description, as raw DWARF (.cfi_escape), with rbx = DWARF register 3:
//   DW_CFA_def_cfa_expression { DW_OP_breg3 8; DW_OP_deref }   CFA = record.rsp
//   DW_CFA_expression r, { DW_OP_breg3 off }                   r saved at &record + off
// for rip (16) at 0, rbp (6) at 16, rbx (3) at 24 and r12-r15 (12-15) at 32-56, the
// offsets of SuspendedRegisters' fields.
#include "runtime/machine/suspended_unwind.hpp"

#include <unwind.h>

#if defined(SPINDLE_CONTEXT_UCONTEXT)
#include <ucontext.h>
#endif

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

#if defined(__x86_64__)

static_assert(sizeof(SuspendedRegisters) == 64, "the frame description reads 8 words");

#if defined(__CET__) && (__CET__ & 1)
#define SPINDLE_UNWIND_LANDING_PAD "endbr64\n"
#else
#define SPINDLE_UNWIND_LANDING_PAD ""
#endif

// void spindle_unwind_through(const SuspendedRegisters* regs, void (*fn)(void*), void* arg):
// calls fn(arg) with a frame whose caller, for an unwinder, is the context `regs` describes.
// After the call the ordinary description is restored for the epilogue.
asm(R"(
        .text
        .globl  spindle_unwind_through
        .hidden spindle_unwind_through
        .type   spindle_unwind_through, @function
        .p2align 4
spindle_unwind_through:
        .cfi_startproc
)" SPINDLE_UNWIND_LANDING_PAD R"(
        pushq   %rbx
        .cfi_def_cfa_offset 16
        .cfi_offset %rbx, -16
        .cfi_remember_state
        movq    %rdi, %rbx
        .cfi_escape 0x0f, 0x03, 0x73, 0x08, 0x06
        .cfi_escape 0x10, 0x10, 0x02, 0x73, 0x00
        .cfi_escape 0x10, 0x06, 0x02, 0x73, 0x10
        .cfi_escape 0x10, 0x03, 0x02, 0x73, 0x18
        .cfi_escape 0x10, 0x0c, 0x02, 0x73, 0x20
        .cfi_escape 0x10, 0x0d, 0x02, 0x73, 0x28
        .cfi_escape 0x10, 0x0e, 0x02, 0x73, 0x30
        .cfi_escape 0x10, 0x0f, 0x02, 0x73, 0x38
        movq    %rdx, %rdi
        callq   *%rsi
        .cfi_restore_state
        popq    %rbx
        .cfi_def_cfa_offset 8
        ret
        .cfi_endproc
        .size   spindle_unwind_through, .-spindle_unwind_through
        .text
)");

extern "C" void spindle_unwind_through(const SuspendedRegisters* regs, void (*fn)(void*),
                                       void* arg);

namespace {

struct Walk {
  std::uintptr_t first = 0;  // the suspended context's rip: its frames start there
  bool started = false;
  void** out = nullptr;
  std::size_t max = 0;
  std::size_t count = 0;
};

_Unwind_Reason_Code on_frame(_Unwind_Context* context, void* arg) {
  Walk& w = *static_cast<Walk*>(arg);
  const std::uintptr_t pc = _Unwind_GetIP(context);
  // The frames below spindle_unwind_through are this thread's own.
  if (!w.started) {
    if (pc != w.first) return _URC_NO_REASON;
    w.started = true;
  }
  if (pc == 0 || w.count == w.max) return _URC_END_OF_STACK;
  w.out[w.count++] = reinterpret_cast<void*>(pc);
  return _URC_NO_REASON;
}

void walk(void* arg) { _Unwind_Backtrace(&on_frame, arg); }

}  // namespace

#if defined(SPINDLE_CONTEXT_UCONTEXT)

std::uintptr_t suspended_stack_pointer(const MachineContext& ctx) noexcept {
  return static_cast<std::uintptr_t>(ctx.uc.uc_mcontext.gregs[REG_RSP]);
}

bool suspended_registers(const MachineContext& ctx, const std::uint64_t* /*stack*/,
                         std::size_t /*words*/, SuspendedRegisters& out) noexcept {
  const auto reg = [&](int r) { return static_cast<std::uint64_t>(ctx.uc.uc_mcontext.gregs[r]); };
  out = SuspendedRegisters{.rip = reg(REG_RIP),
                           .rsp = reg(REG_RSP),
                           .rbp = reg(REG_RBP),
                           .rbx = reg(REG_RBX),
                           .r12 = reg(REG_R12),
                           .r13 = reg(REG_R13),
                           .r14 = reg(REG_R14),
                           .r15 = reg(REG_R15)};
  return true;
}

#else

// Offsets in the asm back end's saved frame (switch_x86_64.S), in words, and the distance
// from the frame to the stack pointer the suspended code had (the frame, then the red zone).
constexpr std::size_t kR15 = 2, kR14 = 3, kR13 = 4, kR12 = 5, kRbx = 6, kRbp = 7, kRip = 8;
constexpr std::size_t kFrameWords = 9;
constexpr std::uint64_t kFrameToRsp = 72 + 128;

std::uintptr_t suspended_stack_pointer(const MachineContext& ctx) noexcept {
  return reinterpret_cast<std::uintptr_t>(ctx.sp);
}

bool suspended_registers(const MachineContext& ctx, const std::uint64_t* stack, std::size_t words,
                         SuspendedRegisters& out) noexcept {
  if (words < kFrameWords) return false;
  out = SuspendedRegisters{.rip = stack[kRip],
                           .rsp = reinterpret_cast<std::uint64_t>(ctx.sp) + kFrameToRsp,
                           .rbp = stack[kRbp],
                           .rbx = stack[kRbx],
                           .r12 = stack[kR12],
                           .r13 = stack[kR13],
                           .r14 = stack[kR14],
                           .r15 = stack[kR15]};
  return true;
}

#endif

std::size_t unwind_suspended(const SuspendedRegisters& regs, void** out, std::size_t max) noexcept {
  Walk w;
  w.first = regs.rip;
  w.out = out;
  w.max = max;
  if (regs.rip == 0 || max == 0) return 0;
  spindle_unwind_through(&regs, &walk, &w);
  return w.count;
}

#else

std::uintptr_t suspended_stack_pointer(const MachineContext& /*ctx*/) noexcept { return 0; }

bool suspended_registers(const MachineContext& /*ctx*/, const std::uint64_t* /*stack*/,
                         std::size_t /*words*/, SuspendedRegisters& /*out*/) noexcept {
  return false;
}

std::size_t unwind_suspended(const SuspendedRegisters& /*regs*/, void** /*out*/,
                             std::size_t /*max*/) noexcept {
  return 0;
}

#endif

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
