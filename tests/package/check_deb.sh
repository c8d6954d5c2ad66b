#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package of a build tree (cmake/packaging.cmake): runs cpack on BUILD_DIR and
# checks the .deb it makes:
#   - its name, libspindle-dev_<version>_<arch>.deb, and its control fields (Package,
#     Version = the project's version, Architecture = dpkg's, Depends, Section, Maintainer);
#   - its files: exactly what `cmake --install` lays out, under /usr, including the headers,
#     libspindle.a, the CMake package, spindle.pc, the gdb extension and the license files
#     with a Debian copyright file in share/doc/libspindle-dev;
#   - no file names the source or build directory (the library is stripped of its debug
#     information, which would), and the library still defines spindle's symbols;
#   - spindle.pc, unpacked anywhere, points at the unpacked headers and library.
# Usage: check_deb.sh CPACK BUILD_DIR WORKDIR VERSION SOURCE_DIR [EXTRA_DEPENDS]
# EXTRA_DEPENDS: what the build adds to Depends (", liburing-dev" with the io_uring backend).
# Exit 77 (skip) when dpkg-deb is not installed.
set -uo pipefail
cpack=$1 build=$2 work=$3 version=$4 src=$5 extra_depends=${6:-}

fail() { printf 'check_deb: FAIL: %s\n' "$*" >&2; exit 1; }
log() { printf 'check_deb: %s\n' "$*"; }

if ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "check_deb: dpkg-deb is not installed: skipped"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work" || fail "cannot create $work"
arch=$(dpkg --print-architecture 2>/dev/null || dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null)
[[ -n "$arch" ]] || fail "cannot tell the Debian architecture"

"$cpack" --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$work/out/libspindle-dev_${version}_${arch}.deb
[[ -f "$deb" ]] || fail "cpack made no $(basename "$deb") (made: $(ls "$work/out"))"
log "built $(basename "$deb")"

# --- control fields -----------------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
expect_field() {  # NAME VALUE
  local got
  got=$(field "$1") || fail "dpkg-deb -f $1 failed"
  [[ "$got" == "$2" ]] || fail "$1 is '$got', expected '$2'"
}
expect_field Package libspindle-dev
expect_field Version "$version"
expect_field Architecture "$arch"
expect_field Depends "libc6-dev, libstdc++-dev${extra_depends}"
expect_field Section libdevel
[[ -n "$(field Maintainer)" ]] || fail "no Maintainer field"
[[ -n "$(field Description)" ]] || fail "no Description field"

# --- files --------------------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{ print $6 }' >"$work/entries.txt" || fail "dpkg-deb -c failed"
outside=$(grep -v '^\./usr/' "$work/entries.txt")
[[ -z "$outside" ]] || fail "entries outside /usr: $outside"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\.\/usr\//, "", $6); print $6 }' | LC_ALL=C sort \
  >"$work/packaged.txt"
for file in include/spindle/spindle.hpp include/spindle/abi.hpp include/spindle/version.hpp \
            include/spindle/testing.hpp lib/libspindle.a lib/cmake/spindle/spindleConfig.cmake \
            lib/cmake/spindle/spindleConfigVersion.cmake lib/cmake/spindle/spindle-targets.cmake \
            lib/pkgconfig/spindle.pc share/spindle/gdb/spindle.py \
            share/doc/libspindle-dev/LICENSE share/doc/libspindle-dev/NOTICE \
            share/doc/libspindle-dev/copyright; do
  grep -qxF "$file" "$work/packaged.txt" || fail "the package lacks /usr/$file"
done
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "cmake --install failed"; }
(cd "$work/prefix" && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort) \
  >"$work/installed.txt"
diff -u "$work/installed.txt" "$work/packaged.txt" >"$work/files.diff" \
  || { cat "$work/files.diff"; fail "the package's files differ from what cmake --install lays out"; }
log "$(wc -l <"$work/packaged.txt") files, as cmake --install lays them out, under /usr"

dpkg-deb -x "$deb" "$work/root" || fail "dpkg-deb -x failed"
usr=$work/root/usr
grep -q '^Copyright: ' "$usr/share/doc/libspindle-dev/copyright" \
  || fail "the copyright file has no Copyright field"
cmp -s "$usr/share/doc/libspindle-dev/LICENSE" "$src/LICENSE" || fail "LICENSE differs from the source's"

# --- no build paths -----------------------------------------------------------------------
for dir in "$src" "$build" "$(realpath "$src")" "$(realpath "$build")"; do
  named=$(grep -rlF -- "$dir" "$usr")
  [[ -z "$named" ]] || fail "files that name $dir: $named"
done
lib=$usr/lib/libspindle.a
readelf -S -W "$lib" >"$work/sections.txt" 2>/dev/null || fail "readelf -S $lib failed"
grep -q '\.debug_info' "$work/sections.txt" && fail "libspindle.a keeps debug information"
abi=$(sed -n 's/^#define SPINDLE_ABI_NAMESPACE \([A-Za-z0-9_]*\)$/\1/p' "$usr/include/spindle/abi.hpp")
nm -C --defined-only "$lib" >"$work/symbols.txt" 2>/dev/null || fail "nm $lib failed"
grep -q " spindle::$abi::Runtime::Runtime(" "$work/symbols.txt" \
  || fail "libspindle.a does not define spindle::$abi::Runtime::Runtime"
log "no file names the source or build directory; libspindle.a defines spindle::$abi"

# --- pkg-config, unpacked elsewhere -------------------------------------------------------
if command -v pkg-config >/dev/null 2>&1; then
  cflags=$(PKG_CONFIG_PATH=$usr/lib/pkgconfig pkg-config --cflags spindle) \
    || fail "pkg-config --cflags spindle failed on the unpacked package"
  libs=$(PKG_CONFIG_PATH=$usr/lib/pkgconfig pkg-config --libs spindle)
  inc=$(tr ' ' '\n' <<<"$cflags" | sed -n 's/^-I//p' | head -n1)
  libdir=$(tr ' ' '\n' <<<"$libs" | sed -n 's/^-L//p' | head -n1)
  [[ -n "$inc" && "$(realpath "$inc")" == "$(realpath "$usr/include")" ]] \
    || fail "spindle.pc --cflags names no -I for the unpacked headers: $cflags"
  [[ -n "$libdir" && "$(realpath "$libdir")" == "$(realpath "$usr/lib")" ]] \
    || fail "spindle.pc --libs names no -L for the unpacked library: $libs"
  log "spindle.pc points at the unpacked package: $cflags $libs"
fi
log "OK: $(basename "$deb")"
