#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The library built by one compiler, used by a program built with the other.
#   1. build tests/abi/cross_consumer.cpp with OTHER_CXX against LIBRARY and the build tree's
#      public include directories, run it, and check every line it prints, the spawn site
#      that the task record carries among them;
#   2. build it again with a copy of spindle/abi.hpp that names another inline namespace
#      first on the include path (what a stale header from another version looks like), and
#      check that linking fails with an undefined reference into that namespace.
# Usage: check_cross_abi.sh OTHER_CXX LIBRARY WORKDIR CONSUMER_CPP INCLUDE_DIRS [LIBS]
#   INCLUDE_DIRS is one argument, the directories separated by '|'. LIBS: what a program
#   linking the library needs besides it and -pthread (" -luring" with the io_uring backend).
# Exit 77 (skip) when OTHER_CXX is not installed.
set -uo pipefail
other=$1 lib=$2 work=$3 consumer=$4 include_dirs=$5 libs=${6:-}

fail() { printf 'check_cross_abi: FAIL: %s\n' "$*" >&2; exit 1; }
log() { printf 'check_cross_abi: %s\n' "$*"; }

if ! command -v "$other" >/dev/null 2>&1; then
  echo "check_cross_abi: the other compiler ($other) is not installed (tools/bootstrap.sh" \
       "installs g++ and clang): skipped"
  exit 77
fi
[[ -f "$lib" ]] || fail "no library at $lib"
rm -rf "$work" && mkdir -p "$work" || fail "cannot create $work"

includes=()
abi_header=
IFS='|' read -r -a dirs <<<"$include_dirs"
for dir in "${dirs[@]}"; do
  [[ -n "$dir" ]] || continue
  includes+=(-I"$dir")
  [[ -f "$dir/spindle/abi.hpp" ]] && abi_header=$dir/spindle/abi.hpp
done
[[ -n "$abi_header" ]] || fail "no spindle/abi.hpp in $include_dirs"
abi=$(sed -n 's/^#define SPINDLE_ABI_NAMESPACE \([A-Za-z0-9_]*\)$/\1/p' "$abi_header")
[[ -n "$abi" ]] || fail "$abi_header defines no SPINDLE_ABI_NAMESPACE"

read -r -a extra_libs <<<"$libs"
link=("$lib" "${extra_libs[@]}" -pthread)
[[ "$lib" != *.so* ]] || link+=(-Wl,-rpath,"$(dirname "$lib")")

# --- 1. the consumer, built by the other compiler ------------------------------------------
log "$other: building $(basename "$consumer") against $lib ($abi)"
"$other" -std=c++20 -O1 "${includes[@]}" "$consumer" "${link[@]}" -o "$work/consumer" \
  >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "building the consumer failed"; }
"$work/consumer" >"$work/run.log" 2>&1
status=$?
cat "$work/run.log"
[[ $status -eq 0 ]] || fail "the consumer exited with status $status"
grep -q '^FAILED' "$work/run.log" && fail "a check in the consumer failed"
checks=$(grep -c '^ok ' "$work/run.log")
expected=$(grep -Ec '^ *check\(' "$consumer")
[[ $checks -eq $expected ]] || fail "the consumer passed $checks checks, expected $expected"
line=$(grep -n '// spawn-site$' "$consumer" | cut -d: -f1)
[[ -n "$line" ]] || fail "no line of $consumer ends in '// spawn-site'"
grep -Eq "^waiter spawn site: .*cross_consumer\.cpp:$line\$" "$work/run.log" \
  || fail "the task record does not name cross_consumer.cpp:$line as the waiter's spawn site"

# --- 2. a header from another ABI: the link must fail, naming that namespace --------------
wrong=abi_v0_0
[[ "$abi" != "$wrong" ]] || wrong=abi_v9_9
mkdir -p "$work/stale/spindle"
sed "s/^#define SPINDLE_ABI_NAMESPACE .*/#define SPINDLE_ABI_NAMESPACE $wrong/" "$abi_header" \
  >"$work/stale/spindle/abi.hpp"
log "$other: building it again with spindle/abi.hpp naming $wrong first on the include path"
if "$other" -std=c++20 -O0 -I"$work/stale" "${includes[@]}" "$consumer" "${link[@]}" \
     -o "$work/stale-consumer" >"$work/stale.log" 2>&1; then
  fail "a consumer built with headers of ABI $wrong linked against a library of ABI $abi"
fi
grep -q "undefined reference to .*spindle::$wrong::" "$work/stale.log" || {
  cat "$work/stale.log"
  fail "the link failed without an undefined reference into spindle::$wrong"
}
log "link refused as expected: $(grep -m1 "undefined reference to .*spindle::$wrong::" "$work/stale.log")"
log "OK: $other consumer works with the library; a $wrong header does not link"
