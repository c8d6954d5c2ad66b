// SPDX-License-Identifier: Apache-2.0
// The frames a suspended context is stopped in, found from another thread without resuming
// it: its saved registers seed an unwind by the call-frame information (.eh_frame) that the
// compiler emits for every function, so frames of code built without frame pointers are
// found as well. x86-64 only (both back ends); elsewhere no frames are found.
//
// The unwinder reads memory wherever that information points: the caller hands it a copy of
// the stack that cannot change meanwhile (runtime/parked_frames.cpp), never the live one.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/machine/machine_context.hpp"
#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// The registers an unwind starts from: the instruction and stack pointers and the
/// callee-saved registers (the only ones a switch keeps). The order is the one
/// suspended_unwind.cpp's frame description reads them in.
struct SuspendedRegisters {
  std::uint64_t rip = 0;
  std::uint64_t rsp = 0;
  std::uint64_t rbp = 0;
  std::uint64_t rbx = 0;
  std::uint64_t r12 = 0;
  std::uint64_t r13 = 0;
  std::uint64_t r14 = 0;
  std::uint64_t r15 = 0;
};

/// The lowest stack address the suspended state of `ctx` occupies: a copy of the stack from
/// there up holds everything suspended_registers() and the unwind read.
std::uintptr_t suspended_stack_pointer(const MachineContext& ctx) noexcept;

/// The registers `ctx` was suspended with. `stack` is the stack from suspended_stack_pointer()
/// up (`words` of it; with the assembly back end the registers are saved there). False when
/// this machine has no unwinder or the copy is too short.
bool suspended_registers(const MachineContext& ctx, const std::uint64_t* stack, std::size_t words,
                         SuspendedRegisters& out) noexcept;

/// Return addresses of the frames `regs` describe, innermost first (the first is regs.rip),
/// at most `max` of them. Reads the stack memory the registers point into.
std::size_t unwind_suspended(const SuspendedRegisters& regs, void** out, std::size_t max) noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
