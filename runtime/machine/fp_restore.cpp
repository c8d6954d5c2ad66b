// SPDX-License-Identifier: Apache-2.0
// Which way the x86-64 switch restores a resumed context's floating-point control words
// (the two ways, and what each costs where: switch_x86_64.S).
#include <cpuid.h>

#include "runtime/machine/machine_context.hpp"

namespace {

unsigned char pick_for_this_cpu() noexcept {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0, &eax, &ebx, &ecx, &edx) == 0) return 0;
  const bool intel =
      ebx == signature_INTEL_ebx && ecx == signature_INTEL_ecx && edx == signature_INTEL_edx;
  return intel ? static_cast<unsigned char>(spindle::detail::FpRestore::compare)
               : static_cast<unsigned char>(spindle::detail::FpRestore::always);
}

}  // namespace

// Read by spindle_context_resume on every switch. Zero (always) until this initialiser runs,
// which is correct too: every switch stores both control words, so each resume may take
// either way, and a switch made during static initialisation just takes the default one.
// Hidden: the assembly addresses it relative to rip.
extern "C" [[gnu::visibility("hidden")]] unsigned char spindle_context_fp_compare;
unsigned char spindle_context_fp_compare = pick_for_this_cpu();

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

FpRestore fp_restore_policy() noexcept {
  return static_cast<FpRestore>(spindle_context_fp_compare);
}

void set_fp_restore_policy(FpRestore policy) noexcept {
  spindle_context_fp_compare = static_cast<unsigned char>(policy);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
