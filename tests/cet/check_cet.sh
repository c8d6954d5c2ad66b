#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Control-flow enforcement of the x86-64 context switch: built with -fcf-protection, every
# indirect-jump target starts with endbr64 and the switch's object is marked IBT (never
# SHSTK, which a stack-switching fiber library cannot honour without switching shadow
# stacks). Usage: check_cet.sh <source root> <scratch dir> <c++ compiler>
set -euo pipefail
src=$1 out=$2 cxx=$3 generated=$4  # generated: the build tree's generated/include
mkdir -p "$out"
fail() { echo "check_cet: $*" >&2; exit 1; }

"$cxx" -c -fcf-protection=full "$src/runtime/machine/switch_x86_64.S" -o "$out/switch.o"
notes=$(readelf -n "$out/switch.o")
grep -q "x86 feature: IBT" <<<"$notes" || fail "switch_x86_64.S is not marked IBT: $notes"
! grep -q "SHSTK" <<<"$notes" || fail "switch_x86_64.S claims shadow-stack support: $notes"
objdump -d "$out/switch.o" | grep -A1 "<spindle_context_trampoline>:" | grep -q endbr64 ||
  fail "spindle_context_trampoline does not start with endbr64"

# Without -fcf-protection: no note, no endbr64 (nothing to pay for).
"$cxx" -c -fcf-protection=none "$src/runtime/machine/switch_x86_64.S" -o "$out/switch_plain.o"
! readelf -n "$out/switch_plain.o" | grep -q "IBT" || fail "IBT note without -fcf-protection"

# The resume label context_switch() plants in its caller: an endbr64 right after the jump.
cat >"$out/resume_site.cpp" <<'CPP'
#include "runtime/machine/machine_context.hpp"
void switch_once(spindle::detail::MachineContext& a, spindle::detail::MachineContext& b) {
  spindle::detail::context_switch(a, b);
}
CPP
"$cxx" -std=c++20 -O2 -fcf-protection=full -DSPINDLE_CONTEXT_ASM=1 -I"$src" -I"$generated" -c \
  "$out/resume_site.cpp" -o "$out/resume_site.o"
objdump -dr "$out/resume_site.o" | grep -A2 "R_X86_64_PLT32.*spindle_context_resume" |
  grep -q endbr64 ||
  fail "context_switch()'s resume label does not start with endbr64"
echo "check_cet: IBT landing pads and note present, no SHSTK claim"
