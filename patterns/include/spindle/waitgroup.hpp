// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::WaitGroup: waits for a collection of tasks to finish.
#pragma once

#include <cstdint>
#include <mutex>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/detail/wait_queue.hpp"
#include "spindle/source_location.hpp"
#include "spindle/task.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A counter of outstanding work (Go's sync.WaitGroup). add() raises it, done() lowers it,
/// and wait() parks the caller (task or thread) until it is zero.
///
/// @code
/// spindle::WaitGroup wg;
/// for (int i = 0; i < 3; ++i) {
///   wg.add(1);
///   spindle::spawn([&wg] { work(); wg.done(); }).detach();
/// }
/// wg.wait();   // all three called done()
/// @endcode
///
/// As in Go, call add() before starting the work it counts, not inside it. Every caller of
/// wait() is released when the counter reaches zero; the WaitGroup may then be reused.
class WaitGroup {
 public:
  WaitGroup() = default;
  WaitGroup(const WaitGroup&) = delete;
  WaitGroup& operator=(const WaitGroup&) = delete;

  /// Adds `delta` (which may be negative) to the counter; releases the waiters at zero.
  /// @throws std::logic_error "negative WaitGroup counter" if it would drop below zero
  /// (the counter is left unchanged).
  void add(std::int64_t delta);
  /// Decrements the counter by one.
  /// @throws std::logic_error "done() called too many times" if it is already zero.
  void done();
  /// Parks the caller until the counter is zero (returns at once if it is).
  void wait();
  /// The counter's current value (a snapshot, for diagnostics).
  std::int64_t count() const;

  /// add(1), then spawns `fn` as a detached task that calls done() when it returns or throws
  /// (Go 1.25's WaitGroup.Go). Must be called from a task.
  template <class F>
  void spawn(F&& fn, spindle::source_location site = spindle::source_location::current()) {
    add(1);
    try {
      spindle::spawn(
          [this, f = std::forward<F>(fn)]() mutable {
            struct Done {
              WaitGroup* wg;
              ~Done() { wg->done(); }
            } done{this};
            f();
          },
          site)
          .detach();
    } catch (...) {
      done();
      throw;
    }
  }

 private:
  // Invariant: waiters_ is non-empty only while count_ > 0. Both under guard_ (a std::mutex,
  // held for a few instructions and never across a park: WaitGroup is not a hot path).
  mutable std::mutex guard_;
  std::int64_t count_ = 0;
  detail::WaitQueue waiters_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
