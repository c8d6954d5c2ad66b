#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Drives tools/gdb/spindle.py in gdb's batch mode: `info spindle-tasks` and `spindle-bt` on
# the live tests/gdb/gdb_target program, then the same on a core file of it.
# Usage: check_gdb.sh TARGET SPINDLE_PY WORKDIR [live-only]. Exit 77 (skip) when gdb is
# absent. Sanitizer builds pass live-only: a core of a sanitized process holds the shadow
# memory (tens of GB).
set -u
target=$1 script=$2 work=$3 mode=${4:-all}
command -v gdb >/dev/null 2>&1 || { echo "gdb not installed: skipped"; exit 77; }
mkdir -p "$work"
live=$work/live.txt core=$work/target.core post=$work/core.txt
rm -f "$core"

gdb -batch -nx -ex "set debuginfod enabled off" -ex "source $script" \
  -ex run -ex "info spindle-tasks" -ex "spindle-bt 1" -ex "spindle-bt 2" \
  -ex kill "$target" >"$live" 2>&1
if [ "$mode" = live-only ]; then
  files=$live
else
  files="$live $post"
  gdb -batch -nx -ex "set debuginfod enabled off" -ex run -ex "gcore $core" -ex kill \
    --args "$target" unguarded >"$work/gcore.txt" 2>&1
  gdb -batch -nx -ex "set debuginfod enabled off" -ex "source $script" \
    -ex "info spindle-tasks" -ex "spindle-bt 1" "$target" "$core" >"$post" 2>&1
  rm -f "$core"
fi

fail=0
expect() {  # FILE PATTERN WHAT
  if ! grep -Eq "$2" "$1"; then
    echo "FAIL: $3: no match for '$2' in $1"; fail=1
  fi
}
for f in $files; do
  expect "$f" '^2 spindle task\(s\)' "task count"
  expect "$f" '^task 1 "gdb-victim" \[chan recv\] spawned at .*gdb_target\.cpp:[0-9]+ \((int )?main(\(int, char\*\*\))?\)' "victim line"
  expect "$f" '^task 2 \[join\] spawned at .*gdb_target\.cpp' "joiner line"
  expect "$f" 'victim_waits_here' "victim backtrace"
done
expect "$live" 'spindle::detail::TaskCore::wait|join' "joiner backtrace"
if [ $fail -ne 0 ]; then
  for f in $files; do echo "--- $f:"; cat "$f"; done
else
  echo "gdb extension: checks passed ($mode)"
fi
exit $fail
