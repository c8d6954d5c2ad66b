#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make docs` runs the package bootstrap only when doxygen is missing. The Makefile runs in a
# scratch directory (tools/ linked to the source's), with stand-ins on PATH: a doxygen that
# only notes that it ran, and a dpkg-query (the bootstrap's first command) that notes that
# the bootstrap ran and reports every package installed, so nothing is ever installed.
#   1. doxygen on PATH: doxygen runs, the bootstrap does not;
#   2. no doxygen on PATH: the bootstrap runs first.
# Usage: check_make_docs.sh SOURCE_DIR WORKDIR      Exit 77 (skip) when make is missing.
set -uo pipefail
src=$1 work=$2

fail() { printf 'check_make_docs: FAIL: %s\n' "$*" >&2; exit 1; }
log() { printf 'check_make_docs: %s\n' "$*"; }

make=$(command -v make) || { echo "check_make_docs: make is not installed: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work/tree" "$work/stubs" "$work/bare" || fail "cannot create $work"
ln -s "$src/tools" "$work/tree/tools"
notes=$work/notes
cat >"$work/stubs/doxygen" <<STUB
#!/bin/sh
echo doxygen >>"$notes"
STUB
cat >"$work/stubs/dpkg-query" <<STUB
#!/bin/sh
echo bootstrap >>"$notes"
printf 'install ok installed'
STUB
chmod +x "$work/stubs/doxygen" "$work/stubs/dpkg-query"

# 1. doxygen installed.
: >"$notes"
PATH="$work/stubs:$PATH" "$make" -C "$work/tree" -f "$src/Makefile" docs >"$work/with.log" 2>&1 \
  || { cat "$work/with.log"; fail "make docs failed with doxygen installed"; }
grep -qx doxygen "$notes" || fail "make docs did not run doxygen"
! grep -qx bootstrap "$notes" || fail "make docs ran the bootstrap although doxygen is installed"
log "doxygen installed: make docs ran doxygen and no bootstrap"

# 2. doxygen missing: a PATH with only what the recipe and the bootstrap need.
for tool in bash sh mkdir; do
  ln -s "$(command -v "$tool")" "$work/bare/$tool" || fail "no $tool"
done
ln -s "$work/stubs/dpkg-query" "$work/bare/dpkg-query"
: >"$notes"
PATH="$work/bare" "$make" -C "$work/tree" -f "$src/Makefile" docs >"$work/without.log" 2>&1
grep -qx bootstrap "$notes" || { cat "$work/without.log"; fail "make docs did not run the bootstrap without doxygen"; }
log "doxygen missing: make docs ran the bootstrap"
