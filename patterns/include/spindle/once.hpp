// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Once: runs a function exactly once, however many tasks ask.
#pragma once

#include <atomic>
#include <mutex>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/mutex.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// Performs one action exactly once (Go's sync.Once). Every call() after the first waits,
/// parked, until the first one's function has returned, so its effects are visible to all.
///
/// @code
/// static spindle::Once init_once;
/// init_once.call([] { load_config(); });   // from any number of tasks or threads
/// @endcode
///
/// As in Go, a function that throws still counts as done: later calls return without calling
/// anything (std::call_once would instead let the next caller retry). The exception
/// propagates to the caller whose function threw.
class Once {
 public:
  Once() = default;
  Once(const Once&) = delete;
  Once& operator=(const Once&) = delete;

  /// Calls `fn` if no call() has done so before; otherwise waits for that first call to finish.
  template <class F>
  void call(F&& fn) {
    // acquire: pairs with the release below; the first call's effects are visible.
    if (done_.load(std::memory_order_acquire)) return;
    std::lock_guard lock(mu_);
    if (done_.load(std::memory_order_relaxed)) return;
    struct MarkDone {
      std::atomic<bool>* done;
      ~MarkDone() { done->store(true, std::memory_order_release); }
    } mark{&done_};
    std::forward<F>(fn)();
  }

  /// True once a call() has finished (returned or thrown).
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> done_{false};
  Mutex mu_;  // serialises the first call against the ones that arrive while it runs
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
