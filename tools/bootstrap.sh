#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages spindle needs to build, test, benchmark and document itself.
# Only packages that are missing are installed; running it again is a no-op.
# Usage: tools/bootstrap.sh
set -euo pipefail

PACKAGES=(
  g++ clang cmake ninja-build make git pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  libconcurrentqueue-dev liburing-dev libtbb-dev libboost-fiber-dev libboost-context-dev
  golang-go doxygen clang-format valgrind gdb wrk python3
)
# On x86-64 hosts the AArch64 context switch is tested under qemu-user with a cross compiler.
if [[ "$(dpkg --print-architecture 2>/dev/null)" == "amd64" ]]; then
  PACKAGES+=(g++-aarch64-linux-gnu qemu-user)
fi

log() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

command -v dpkg-query >/dev/null 2>&1 \
  || die "dpkg-query not found; this script supports Debian/Ubuntu only (install the packages by hand: ${PACKAGES[*]})"

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  log "all ${#PACKAGES[@]} required packages are installed"
  exit 0
fi

log "missing packages: ${missing[*]}"

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
    log "not running as root; using sudo"
  else
    die "must run as root (or have sudo) to install: ${missing[*]}"
  fi
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"

log "running: apt-get update"
"${SUDO[@]}" apt-get update \
  || die "apt-get update failed (check network access and /etc/apt/sources.list*)"

log "running: apt-get install -y --no-install-recommends ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}" \
  || die "apt-get install failed for: ${missing[*]}"

# Verify: apt-get can exit 0 and still leave a package unconfigured.
still_missing=()
for pkg in "${missing[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || still_missing+=("$pkg")
done
[[ ${#still_missing[@]} -eq 0 ]] || die "still not installed after apt-get: ${still_missing[*]}"

log "installed: ${missing[*]}"
