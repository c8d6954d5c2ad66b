#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Check the shared library end to end:
#   1. configure spindle with BUILD_SHARED_LIBS=ON into a temporary build tree (library only:
#      no tests, examples or benchmarks; no optimisation, to keep the build short) and build it
#   2. check the SONAME (libspindle.so.MAJOR.MINOR) and the links an install lays out
#   3. run tools/check_install.sh on that tree: install into a temporary prefix, build the
#      consumers with find_package and pkg-config, and run them against the installed .so
# Usage: tools/check_shared.sh [REFERENCE_BUILD_DIR]
#   With a reference build tree, its C and C++ compilers and SPINDLE_CONTEXT are used;
#   otherwise $CC/$CXX (default gcc/g++) and the default back end.
# Environment: SPINDLE_SHARED_JOBS (parallel build jobs, default: nproc),
#              SPINDLE_SHARED_BUILD_TYPE (CMAKE_BUILD_TYPE of the shared build, default empty).
set -euo pipefail

die() { printf 'check_shared: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'check_shared: %s\n' "$*"; }

[[ $# -le 1 ]] || die "usage: $0 [REFERENCE_BUILD_DIR]"
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

cc="${CC:-gcc}"
cxx="${CXX:-g++}"
context=()
if [[ $# -eq 1 ]]; then
  cache="$1/CMakeCache.txt"
  [[ -f "$cache" ]] || die "$1 is not a configured CMake build tree"
  cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$cache" | head -n1; }
  cc="$(cache_value CMAKE_C_COMPILER)"
  cxx="$(cache_value CMAKE_CXX_COMPILER)"
  ctx="$(cache_value SPINDLE_CONTEXT)"
  [[ -z "$ctx" ]] || context=(-DSPINDLE_CONTEXT="$ctx")
fi
command -v "$cc" >/dev/null 2>&1 || die "C compiler not found: $cc"
command -v "$cxx" >/dev/null 2>&1 || die "C++ compiler not found: $cxx"
command -v readelf >/dev/null 2>&1 || die "readelf not found (binutils)"

version="$(sed -n 's/^project(spindle VERSION \([0-9][0-9.]*\).*/\1/p' "$src_dir/CMakeLists.txt")"
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.[0-9]+$ ]] || die "cannot read the project version from CMakeLists.txt"
soname="libspindle.so.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

work="$(mktemp -d "${TMPDIR:-/tmp}/spindle-shared-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT
build="$work/build"

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
log "configuring a shared build of spindle $version in $build ($cxx)"
cmake -S "$src_dir" -B "$build" "${generator[@]}" "${context[@]}" \
      -DCMAKE_BUILD_TYPE="${SPINDLE_SHARED_BUILD_TYPE:-}" \
      -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
      -DBUILD_SHARED_LIBS=ON \
      -DSPINDLE_BUILD_TESTS=OFF -DSPINDLE_BUILD_EXAMPLES=OFF -DSPINDLE_BUILD_BENCH=OFF \
      >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log" >&2; die "configuring the shared build failed"; }
log "building libspindle.so"
cmake --build "$build" --target spindle -j "${SPINDLE_SHARED_JOBS:-$(nproc 2>/dev/null || echo 2)}" \
      >"$work/build.log" 2>&1 \
  || { tail -n 60 "$work/build.log" >&2; die "building the shared library failed"; }

lib="$build/libspindle.so.$version"
[[ -f "$lib" ]] || die "the build made no $lib"
got="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')"
[[ "$got" == "$soname" ]] || die "SONAME of $lib is '$got', expected '$soname'"
log "SONAME $got"
# A build without the tests carries no test hooks (runtime/test_hooks.hpp).
hooks="$(nm -D --defined-only "$lib" | grep -E "for_testing|g_[a-z_]*_hook" || true)"
[[ -z "$hooks" ]] || die "test hooks in a build without tests: $hooks"
log "no test hooks"
for link in "libspindle.so" "$soname"; do
  [[ -L "$build/$link" ]] || die "$build/$link is not a symbolic link"
done
[[ "$(readlink "$build/$soname")" == "libspindle.so.$version" ]] || die "$soname does not name libspindle.so.$version"
[[ "$(readlink "$build/libspindle.so")" == "$soname" ]] || die "libspindle.so does not name $soname"

"$src_dir/tools/check_install.sh" "$build" || die "tools/check_install.sh failed on the shared build"
log "OK: shared library $soname builds, installs and serves find_package and pkg-config consumers"
