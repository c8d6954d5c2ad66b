#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The strict consumer (tests/strict/strict_consumer.cpp) against the installed headers:
#   coverage  every header an install lays out under include/spindle is one the strict
#             consumer includes (directly or through another), so a new public header is
#             checked under the strict warnings from the day it is installed;
#   compile   the strict consumer compiles with CXX under the strict warnings, the installed
#             headers on a plain -I (not -isystem, which would hide their warnings).
# Usage: check_strict_headers.sh coverage BUILD_DIR WORKDIR CONSUMER_CPP CXX
#        check_strict_headers.sh compile  BUILD_DIR WORKDIR CONSUMER_CPP CXX
# Exit 77 (skip) in compile mode when CXX is not installed.
set -uo pipefail
mode=$1 build=$2 work=$3 consumer=$4 cxx=$5

fail() { printf 'check_strict_headers: FAIL: %s\n' "$*" >&2; exit 1; }
log() { printf 'check_strict_headers: %s\n' "$*"; }

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "check_strict_headers: compiler $cxx is not installed: skipped"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work" || fail "cannot create $work"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "cmake --install $build failed"; }
include=$work/prefix/include
[[ -d "$include/spindle" ]] || fail "the install laid out no include/spindle"

case $mode in
  coverage)
    (cd "$include" && find spindle -type f | LC_ALL=C sort) >"$work/installed.txt"
    "$cxx" -std=c++20 -MM -MT strict -DSPINDLE_STRICT_WITH_GTEST=1 -I"$include" "$consumer" \
      >"$work/deps.mk" 2>"$work/deps.log" || { cat "$work/deps.log"; fail "$cxx -MM failed"; }
    tr -s ' \\\n' '\n' <"$work/deps.mk" | sed -n "s|^$include/||p" | LC_ALL=C sort -u \
      >"$work/included.txt"
    missing=$(LC_ALL=C comm -23 "$work/installed.txt" "$work/included.txt")
    [[ -z "$missing" ]] || fail "installed headers the strict consumer does not include:
$missing
(include them in $consumer)"
    log "all $(wc -l <"$work/installed.txt") installed headers are included by the strict consumer"
    ;;
  compile)
    flags=(-std=c++20 -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Werror)
    log "$cxx ${flags[*]} -fsyntax-only -I<prefix>/include $(basename "$consumer")"
    "$cxx" "${flags[@]}" -fsyntax-only -DSPINDLE_STRICT_WITH_GTEST=1 -I"$include" "$consumer" \
      >"$work/compile.log" 2>&1 || { cat "$work/compile.log"; fail "the strict consumer warns"; }
    log "OK: no warning from $cxx"
    ;;
  *) fail "unknown mode '$mode'" ;;
esac
