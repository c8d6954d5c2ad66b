// SPDX-License-Identifier: Apache-2.0
#include "runtime/sanitizers.hpp"

#include <pthread.h>

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail::san {

FiberState for_current_thread() noexcept {
  FiberState s;
#if defined(SPINDLE_ASAN)
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    s.stack_bottom = addr;
    s.stack_size = size;
    pthread_attr_destroy(&attr);
  }
#endif
#if defined(SPINDLE_TSAN)
  s.tsan_fiber = __tsan_get_current_fiber();
#endif
  return s;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail::san
