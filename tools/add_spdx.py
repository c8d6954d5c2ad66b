#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Puts the SPDX license line at the top of every source file that lacks it (after a
shebang line, if any). Usage: tools/add_spdx.py [--check]   (--check: list the files that
lack it and exit 1 if any do). Files are those git tracks, plus new ones it does not ignore."""
import subprocess
import sys

TAG = "SPDX-License-Identifier: Apache-2.0"
SLASH = (".cpp", ".hpp", ".h", ".S", ".go", ".hpp.in")
HASH = (".sh", ".py", ".cmake", ".yml", ".yaml", ".pc.in", ".cmake.in")
HASH_NAMES = ("CMakeLists.txt", "Makefile", "run", ".clang-format", ".gitignore", "Doxyfile")


def comment_for(path):
    name = path.rsplit("/", 1)[-1]
    if name.endswith(SLASH):
        return "// " + TAG
    if name.endswith(HASH) or name in HASH_NAMES:
        return "# " + TAG
    return None


def files():
    """The files to look at, or None outside a git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [f for f in out.splitlines() if not f.startswith("perf/results/")]


def main():
    check = "--check" in sys.argv[1:]
    missing = []
    paths = files()
    if paths is None:
        print("not a git checkout: nothing to check")
        return 77
    for path in paths:
        line = comment_for(path)
        if line is None:
            continue
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except (FileNotFoundError, UnicodeDecodeError):
            continue
        head = text.split("\n", 3)[:3]
        if any(TAG in h for h in head):
            continue
        missing.append(path)
        if check:
            continue
        if text.startswith("#!"):
            first, _, rest = text.partition("\n")
            text = first + "\n" + line + "\n" + rest
        else:
            text = line + "\n" + text
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    if check and missing:
        print("files without an SPDX line:\n  " + "\n  ".join(missing))
        return 1
    if not check:
        print(f"added the SPDX line to {len(missing)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
