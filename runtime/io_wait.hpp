// SPDX-License-Identifier: Apache-2.0
// The one way the layers above wait for I/O: until a descriptor can be read or written,
// its deadline passes, or the caller's cancellation fires. In a task the wait goes through
// the runtime's netpoller and parks the task; on a plain thread it blocks in poll(2).
//
// Cancellation is the caller's (net adapts spindle::Context to IoCancel): the runtime only
// asks it to call a function once when it fires, and to stop before the wait returns.
#pragma once

#include <cstdint>

#include "runtime/poll_desc.hpp"
#include "spindle/abi.hpp"
#include "spindle/clock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// What may end a wait for I/O early, besides its deadline.
class IoCancel {
 public:
  using Wake = void (*)(void* arg) noexcept;

  /// Arranges for `wake(arg)` to be called once when cancellation fires, from any thread;
  /// `wake` is short and does not block. Returns false, arranging nothing, when it has
  /// fired already or never can.
  virtual bool watch(Wake wake, void* arg) = 0;
  /// Undoes a watch() that returned true; once it returns, `wake` is neither running nor
  /// to come.
  virtual void unwatch() noexcept = 0;
  /// Whether cancellation has fired.
  virtual bool fired() const noexcept = 0;

 protected:
  ~IoCancel() = default;
};

/// How a wait for I/O ended.
enum class IoWaitEnd : std::uint8_t {
  ready,      // the descriptor may be ready: retry the system call
  closed,     // the descriptor was closed meanwhile
  cancelled,  // `cancel` fired
  timed_out,  // the deadline passed
};

/// Waits for `pd` to become ready in `dir`: `seen` is pd.edges(dir) as it was before the
/// system call that would have blocked. `deadline`: nullptr for none. `cancel`: nullptr
/// when nothing can cancel. `op` names the caller's operation in errors. Throws
/// std::logic_error inside a testing::Simulation (real I/O cannot be replayed) and
/// std::system_error when the wait itself fails (the backend or poll(2)).
IoWaitEnd io_wait(PollDesc& pd, IoDir dir, std::uint32_t seen, const TimePoint* deadline,
                  IoCancel* cancel, const char* op);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
