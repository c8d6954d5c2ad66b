// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Semaphore: a weighted semaphore (golang.org/x/sync/semaphore).
#pragma once

#include <cstdint>
#include <mutex>
#include <system_error>

#include "spindle/abi.hpp"
#include "spindle/detail/wait_queue.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

class Context;

/// A pool of `capacity` tokens; a party acquires any number of them at once and releases
/// them later. Bounds concurrent access to a resource, e.g. at most 64 MiB of buffers in
/// flight, or at most 8 concurrent requests.
///
/// @code
/// spindle::Semaphore sem(8);
/// sem.acquire();          // one token; parks while all 8 are taken
/// work();
/// sem.release();
/// if (sem.try_acquire(3)) { /* got 3 tokens without waiting */ sem.release(3); }
/// @endcode
///
/// Waiters are served first in, first out: a large request at the head of the queue is not
/// starved by a stream of small ones (which queue behind it even if they would fit), as in
/// Go's package.
class Semaphore {
 public:
  /// @throws std::invalid_argument if `capacity` is negative.
  explicit Semaphore(std::int64_t capacity);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  /// Acquires `n` tokens, parking the task (or blocking the thread) until they are available.
  /// @throws std::invalid_argument if `n` is negative or more than the capacity (it could
  /// never succeed; Go would block forever).
  void acquire(std::int64_t n = 1);
  /// Like acquire(n), but gives up when `ctx` is done first: returns ctx.err() then (and holds
  /// nothing), or an empty error_code once the tokens are held. A context that is already
  /// done fails at once, even if the tokens are free.
  /// @throws std::invalid_argument as acquire(n) does.
  std::error_code acquire(const Context& ctx, std::int64_t n = 1);
  /// Acquires `n` tokens if they are free and nobody is queued; never blocks.
  /// @throws std::invalid_argument if `n` is negative.
  bool try_acquire(std::int64_t n = 1);
  /// Returns `n` tokens and wakes the queued parties they satisfy, in order.
  /// @throws std::logic_error "released more than held" if fewer than `n` are held.
  void release(std::int64_t n = 1);

  /// The total number of tokens.
  std::int64_t capacity() const noexcept { return capacity_; }
  /// Tokens currently held (a snapshot, for diagnostics).
  std::int64_t held() const;

 private:
  void check_weight(std::int64_t n, const char* what) const;
  void check_acquire(std::int64_t n) const;
  // Hands tokens to queued parties while the head of the queue fits. Under guard_.
  void grant_waiters() noexcept;

  // Invariants (all under guard_, a std::mutex held only for a few instructions and never
  // across a park):
  //  * 0 <= held_ <= capacity_.
  //  * If the queue is non-empty, its head does not fit: capacity_ - held_ < head->weight.
  //    (grant_waiters() restores this after every release or departure.)
  const std::int64_t capacity_;
  mutable std::mutex guard_;
  std::int64_t held_ = 0;
  detail::WaitQueue queue_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
