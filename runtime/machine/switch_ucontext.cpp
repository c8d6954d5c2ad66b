// SPDX-License-Identifier: Apache-2.0
// ucontext back end of the context switch (SPINDLE_CONTEXT=ucontext).
//
// makecontext passes only int arguments, so the entry and its argument travel through a
// per-thread hand-off slot that the trampoline reads before anything else can overwrite it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "runtime/machine/machine_context.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

struct Start {
  ContextEntry entry;
  void* arg;
};

// makecontext's variadic ints: split the pointer to the Start record into two halves.
void trampoline(unsigned hi, unsigned lo) {
  auto* start = reinterpret_cast<Start*>((std::uintptr_t{hi} << 32) | std::uintptr_t{lo});
  start->entry(start->arg);
  std::fputs("spindle: a fiber entry returned instead of switching away\n", stderr);
  std::abort();
}

}  // namespace

void context_init(MachineContext& ctx, void* stack_low, void* stack_high, ContextEntry entry,
                  void* arg) {
  // The Start record lives at the very top of the fiber's own stack: valid as long as it is.
  auto top = reinterpret_cast<std::uintptr_t>(stack_high) - sizeof(Start);
  top &= ~std::uintptr_t{15};
  auto* start = reinterpret_cast<Start*>(top);
  start->entry = entry;
  start->arg = arg;
  if (getcontext(&ctx.uc) != 0) {
    std::perror("spindle: getcontext");
    std::abort();
  }
  ctx.uc.uc_stack.ss_sp = stack_low;
  ctx.uc.uc_stack.ss_size = top - reinterpret_cast<std::uintptr_t>(stack_low);
  ctx.uc.uc_link = nullptr;
  auto bits = reinterpret_cast<std::uintptr_t>(start);
  makecontext(&ctx.uc, reinterpret_cast<void (*)()>(&trampoline), 2,
              static_cast<unsigned>(bits >> 32), static_cast<unsigned>(bits & 0xffffffffu));
}

void context_switch(MachineContext& from, MachineContext& to) {
  if (swapcontext(&from.uc, &to.uc) != 0) {
    std::perror("spindle: swapcontext");
    std::abort();
  }
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
