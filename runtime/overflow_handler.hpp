// SPDX-License-Identifier: Apache-2.0
// Turns a stack overflow in a task into a readable death: a SIGSEGV handler, running on a
// per-worker alternate signal stack (the task's own stack is the one that ran out), that
// recognises a fault just below the running task's stack and prints the task's id and spawn
// site before the default action ends the process. Faults that are not stack overflows
// go to whatever handler was installed before spindle's.
#pragma once

#include <signal.h>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Fiber;

/// Writes the fatal "stack overflow in task N spawned at file:line (fn)" line for `f` to
/// stderr; `how` says what caught it. Uses only a stack buffer and write(2), so the signal
/// handler can call it too.
void write_overflow_message(const Fiber& f, const char* how) noexcept;

/// Installs the process-wide handler (once; later calls do nothing).
void install_overflow_handler();

/// Gives the calling thread an alternate signal stack for its lifetime; the one it had
/// before (a sanitizer's, say) comes back when this is destroyed.
class AltSignalStack {
 public:
  AltSignalStack();
  ~AltSignalStack();
  AltSignalStack(const AltSignalStack&) = delete;
  AltSignalStack& operator=(const AltSignalStack&) = delete;

 private:
  void* mem_ = nullptr;
  stack_t previous_{};
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
