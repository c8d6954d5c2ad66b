#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Check that an already-built spindle tree installs and is usable downstream:
#   1. cmake --install BUILD_DIR into a temporary prefix
#   2. build tests/install with find_package(spindle) (CMAKE_PREFIX_PATH), run it
#   3. check that `pkg-config --cflags spindle` names no -std= flag, then build
#      tests/install/main.cpp with `$CXX -std=c++20 $(pkg-config --cflags --libs spindle)` and
#      again with -std=c++2b, and run both
#   4. check that the gdb extension is installed as share/spindle/gdb/spindle.py
# A shared build (BUILD_SHARED_LIBS=ON) installs libspindle.so.MAJOR.MINOR; then the consumers
# must load it from the temporary prefix (the find_package one through the RPATH CMake gives
# it, the pkg-config ones through LD_LIBRARY_PATH), which is checked with ldd.
# Usage: tools/check_install.sh BUILD_DIR      (exit status 0 only if every step passed)
set -euo pipefail

die() { printf 'check_install: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'check_install: %s\n' "$*"; }

[[ $# -eq 1 ]] || die "usage: $0 BUILD_DIR"
build_dir="$(cd "$1" 2>/dev/null && pwd)" || die "no such build directory: $1"
[[ -f "$build_dir/CMakeCache.txt" ]] || die "$build_dir is not a configured CMake build tree"
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
consumer_src="$src_dir/tests/install"
[[ -f "$consumer_src/CMakeLists.txt" ]] || die "missing $consumer_src/CMakeLists.txt"

# Build the consumer with the same compiler as the library (ABI must match).
cxx="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt" | head -n1)"
[[ -n "$cxx" ]] || cxx="${CXX:-g++}"
command -v "$cxx" >/dev/null 2>&1 || die "compiler not found: $cxx"
command -v pkg-config >/dev/null 2>&1 || die "pkg-config not found (run tools/bootstrap.sh)"
if grep -q '^SPINDLE_INSTALL:BOOL=OFF' "$build_dir/CMakeCache.txt"; then
  die "$build_dir was configured with SPINDLE_INSTALL=OFF: it has no install rules"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/spindle-install-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

log "installing $build_dir into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; die "cmake --install failed"; }

# A shared build installs libspindle.so.*; each consumer must then load that copy.
shared_lib="$(find "$prefix" -name 'libspindle.so.*' -type f -print -quit)"
check_loads_installed() {  # check_loads_installed EXECUTABLE
  [[ -n "$shared_lib" ]] || return 0
  local resolved
  resolved="$(ldd "$1" | awk '$1 ~ /^libspindle\.so/ { print $3 }')" || die "ldd $1 failed"
  [[ -n "$resolved" ]] || die "$1 does not load libspindle.so (ldd: $(ldd "$1" | tr '\n' ' '))"
  [[ "$(realpath "$resolved")" == "$(realpath "$shared_lib")" ]] \
    || die "$1 loads $resolved, not the installed $shared_lib"
  log "$(basename "$1") loads $resolved"
}
if [[ -n "$shared_lib" ]]; then
  log "shared library installed: $shared_lib"
fi

# --- find_package -----------------------------------------------------------------------
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
log "building consumer with find_package(spindle)"
cmake -S "$consumer_src" -B "$work/cmake-build" "${generator[@]}" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  || die "configuring the find_package consumer failed"
cmake --build "$work/cmake-build" || die "building the find_package consumer failed"
log "running find_package consumer"
check_loads_installed "$work/cmake-build/consumer"
"$work/cmake-build/consumer" || die "find_package consumer exited with status $?"

# --- pkg-config -------------------------------------------------------------------------
pc_file="$(find "$prefix" -name spindle.pc -print -quit)"
[[ -n "$pc_file" ]] || die "spindle.pc was not installed under $prefix"
PKG_CONFIG_PATH="$(dirname "$pc_file")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
pc_cflags="$(pkg-config --cflags spindle)" || die "pkg-config --cflags spindle failed"
# The consumer picks its language standard (C++20 or later); the .pc file must not pick one.
[[ " $pc_cflags " != *" -std="* ]] || die "pkg-config --cflags spindle names a standard: $pc_cflags"
[[ " $pc_cflags " == *" -pthread "* ]] || die "pkg-config --cflags spindle lacks -pthread: $pc_cflags"
pc_flags="$(pkg-config --cflags --libs spindle)" || die "pkg-config --cflags --libs spindle failed"
# Executables linked by hand find an installed libspindle.so through LD_LIBRARY_PATH.
pc_lib_path="${LD_LIBRARY_PATH:-}"
[[ -z "$shared_lib" ]] || pc_lib_path="$(dirname "$shared_lib")${pc_lib_path:+:$pc_lib_path}"
for std in c++20 c++2b; do
  log "building consumer with pkg-config: $cxx -std=$std main.cpp $pc_flags"
  # shellcheck disable=SC2086  # pc_flags must be word-split
  "$cxx" -std="$std" "$consumer_src/main.cpp" -o "$work/pc-consumer-$std" $pc_flags \
    || die "building the pkg-config consumer with -std=$std failed"
  log "running pkg-config consumer (-std=$std)"
  LD_LIBRARY_PATH="$pc_lib_path" check_loads_installed "$work/pc-consumer-$std"
  LD_LIBRARY_PATH="$pc_lib_path" "$work/pc-consumer-$std" \
    || die "pkg-config consumer (-std=$std) exited with status $?"
done

# --- gdb extension ----------------------------------------------------------------------
gdb_py="$(find "$prefix" -path '*/share/spindle/gdb/spindle.py' -type f -print -quit)"
[[ -n "$gdb_py" ]] || die "the gdb extension was not installed as <prefix>/share/spindle/gdb/spindle.py"
cmp -s "$gdb_py" "$src_dir/tools/gdb/spindle.py" || die "$gdb_py differs from tools/gdb/spindle.py"
log "gdb extension installed: $gdb_py"

log "OK: installed package works with find_package and pkg-config (-std=c++20 and -std=c++2b)"
