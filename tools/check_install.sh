#!/usr/bin/env bash
# Check that an already-built spindle tree installs and is usable downstream:
#   1. cmake --install BUILD_DIR into a temporary prefix
#   2. build tests/install with find_package(spindle) (CMAKE_PREFIX_PATH), run it
#   3. build tests/install/main.cpp with `$CXX $(pkg-config --cflags --libs spindle)`, run it
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

work="$(mktemp -d "${TMPDIR:-/tmp}/spindle-install-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

log "installing $build_dir into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; die "cmake --install failed"; }

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
"$work/cmake-build/consumer" || die "find_package consumer exited with status $?"

# --- pkg-config -------------------------------------------------------------------------
pc_file="$(find "$prefix" -name spindle.pc -print -quit)"
[[ -n "$pc_file" ]] || die "spindle.pc was not installed under $prefix"
export PKG_CONFIG_PATH="$(dirname "$pc_file")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pc_flags="$(pkg-config --cflags --libs spindle)" || die "pkg-config --cflags --libs spindle failed"
log "building consumer with pkg-config: $cxx main.cpp $pc_flags"
# shellcheck disable=SC2086  # pc_flags must be word-split
"$cxx" "$consumer_src/main.cpp" -o "$work/pc-consumer" $pc_flags \
  || die "building the pkg-config consumer failed"
log "running pkg-config consumer"
"$work/pc-consumer" || die "pkg-config consumer exited with status $?"

log "OK: installed package works with find_package and pkg-config"
