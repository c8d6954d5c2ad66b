// SPDX-License-Identifier: Apache-2.0
// Fiber annotations for AddressSanitizer and ThreadSanitizer. Without them ASan sees a stack
// switch as a wild stack-pointer jump (false stack-buffer-overflow reports, broken fake
// stacks) and TSan mixes the happens-before histories of every task run by a thread.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define SPINDLE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPINDLE_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define SPINDLE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SPINDLE_TSAN 1
#endif
#endif

#if defined(SPINDLE_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(SPINDLE_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail::san {

/// Per-context sanitizer state: one for each fiber and one for each worker's own stack.
struct FiberState {
  void* asan_fake_stack = nullptr;
  const void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
  void* tsan_fiber = nullptr;
};

/// Call right before switching from the context `from` to `to`. `from_exits` says `from`
/// will never run again (its fake stack can be released).
inline void before_switch(FiberState& from, const FiberState& to, bool from_exits) noexcept {
#if defined(SPINDLE_ASAN)
  __sanitizer_start_switch_fiber(from_exits ? nullptr : &from.asan_fake_stack, to.stack_bottom,
                                 to.stack_size);
#else
  (void)from;
  (void)from_exits;
#endif
#if defined(SPINDLE_TSAN)
  __tsan_switch_to_fiber(to.tsan_fiber, 0);
#else
  (void)to;
#endif
}

/// Call first thing after a switch lands in `self` (also at a fiber's very first entry, with
/// a fresh FiberState whose fake stack is null).
inline void after_switch(FiberState& self) noexcept {
#if defined(SPINDLE_ASAN)
  __sanitizer_finish_switch_fiber(self.asan_fake_stack, nullptr, nullptr);
#else
  (void)self;
#endif
}

/// Sanitizer bookkeeping for a fiber about to start on [bottom, bottom + size).
inline void create(FiberState& s, const void* bottom, std::size_t size) noexcept {
  s.asan_fake_stack = nullptr;
  s.stack_bottom = bottom;
  s.stack_size = size;
#if defined(SPINDLE_TSAN)
  s.tsan_fiber = __tsan_create_fiber(0);
#endif
}

/// Releases what create() made; call after the fiber switched away for the last time.
inline void destroy(FiberState& s) noexcept {
#if defined(SPINDLE_TSAN)
  if (s.tsan_fiber != nullptr) __tsan_destroy_fiber(s.tsan_fiber);
  s.tsan_fiber = nullptr;
#else
  (void)s;
#endif
}

/// Hand-off through a structure whose synchronisation TSan cannot see (moodycamel's queue
/// orders its slots with standalone fences, which TSan does not model): the producer calls
/// publish(key) before pushing, the consumer consume(key) after popping the same key.
inline void publish(const void* key) noexcept {
#if defined(SPINDLE_TSAN)
  __tsan_release(const_cast<void*>(key));
#else
  (void)key;
#endif
}
inline void consume(const void* key) noexcept {
#if defined(SPINDLE_TSAN)
  __tsan_acquire(const_cast<void*>(key));
#else
  (void)key;
#endif
}

/// Sanitizer state for the calling thread's own stack (a worker's scheduler context).
FiberState for_current_thread() noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail::san
