// SPDX-License-Identifier: Apache-2.0
#include "runtime/process_fence.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

long membarrier(int cmd) noexcept { return syscall(__NR_membarrier, cmd, 0u, 0); }

bool register_once() noexcept {
  const long supported = membarrier(MEMBARRIER_CMD_QUERY);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

}  // namespace

bool process_fence_available() noexcept {
  // A function-local static: registered once, by whichever runtime starts first.
  static const bool available = register_once();
  return available;
}

void process_fence() noexcept {
  // Cannot fail once registered (EINTR is not among its errors); if it ever did, going on
  // would break the ordering the callers rely on, so stop loudly instead.
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
    std::perror("spindle: internal error: membarrier(PRIVATE_EXPEDITED) failed");
    std::abort();
  }
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
