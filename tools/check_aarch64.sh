#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-compiles tests/aarch64/switch_check.cpp with runtime/machine/switch_aarch64.S and runs
# it under qemu-user, so the AArch64 switch is exercised on x86-64 machines too.
# Usage: check_aarch64.sh [OUT_DIR] [GENERATED_INCLUDE_DIR] (the build tree's generated/include,
# which holds spindle/abi.hpp; default: build/default's).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$(mktemp -d)}
GENERATED=${2:-$ROOT/build/default/generated/include}
mkdir -p "$OUT"
aarch64-linux-gnu-g++ -O2 -std=c++20 -static -Wall -Wextra -Werror -I "$ROOT" -I "$ROOT/include" \
  -I "$GENERATED" \
  -DSPINDLE_CONTEXT_ASM=1 "$ROOT/tests/aarch64/switch_check.cpp" \
  "$ROOT/runtime/machine/switch_aarch64.S" -o "$OUT/switch_check_aarch64"
qemu-aarch64 "$OUT/switch_check_aarch64"
