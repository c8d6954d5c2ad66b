// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Context: cancellation, deadlines and request-scoped values (Go's `context`).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/chan.hpp"
#include "spindle/clock.hpp"
#include "spindle/detail/intrusive_list.hpp"
#include "spindle/errc.hpp"
#include "spindle/unit.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

namespace detail {
class ContextNode;
}  // namespace detail

/// A typed key for Context values. A key is identified by its address, so declare each one
/// once, usually as a `static const` object; the name is for diagnostics only.
///
/// @code
/// static const spindle::ContextKey<std::string> user_key{"user"};
/// spindle::Context vctx = spindle::with_value(ctx, user_key, std::string("ann"));
/// const std::string* user = vctx.value(user_key);   // nullptr where no ancestor set it
/// @endcode
template <class V>
class ContextKey {
 public:
  /// A key labelled `name` (a string literal or other string that outlives the key). Two
  /// keys with the same name are still different keys.
  explicit constexpr ContextKey(const char* name) noexcept : name_(name) {}
  ContextKey(const ContextKey&) = delete;
  ContextKey& operator=(const ContextKey&) = delete;
  /// The name given at construction.
  constexpr const char* name() const noexcept { return name_; }

 private:
  const char* name_;
};

/// Carries a cancellation signal, a deadline and request-scoped values across API boundaries
/// and between tasks (Go's context.Context). A Context is a cheap, copyable, immutable handle:
/// share it freely between tasks and threads. Derive children with with_cancel, with_timeout,
/// with_deadline and with_value.
///
/// @code
/// auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 50ms);
/// spindle::select(spindle::on_recv(ctx.done(), [&](auto) { /* gave up: ctx.err() says why */ }),
///                 spindle::on_recv(results, [&](auto r) { /* got it in time */ }));
/// cancel();   // release the timer early; harmless when already done
/// @endcode
///
/// Cancellation flows down only: cancelling a context cancels every context derived from it,
/// never its parent. A cancelled child detaches from its parent at once, so a long-lived
/// parent does not accumulate dead children. No task or thread exists per context: deadlines
/// use the runtime's timers and done() channels are made only when first asked for.
///
/// A default-constructed Context is background().
class Context {
 public:
  /// background(): never cancelled, no deadline, no values.
  Context() noexcept = default;

  /// A channel that is closed when this context is cancelled or its deadline passes; receive
  /// from it (or select on it) to stop work. A nil channel (never ready) for contexts that can
  /// never be cancelled, as in Go. Made on first use; every call returns the same channel.
  RecvChan<Unit> done() const;

  /// Empty until the context is done; then errc::canceled or errc::deadline_exceeded (the
  /// reason of the first cancellation, which never changes afterwards).
  std::error_code err() const noexcept;

  /// The earliest deadline on the way up to the root, if any.
  std::optional<TimePoint> deadline() const noexcept;

  /// The value that the nearest ancestor made with `with_value(..., key, ...)` holds, or
  /// nullptr if none did. Lives as long as any context derived from that ancestor.
  template <class V>
  const V* value(const ContextKey<V>& key) const noexcept {
    return static_cast<const V*>(lookup(&key));
  }

  /// @cond INTERNAL
  explicit Context(std::shared_ptr<detail::ContextNode> node) noexcept : node_(std::move(node)) {}
  const std::shared_ptr<detail::ContextNode>& node() const noexcept { return node_; }
  /// @endcond

 private:
  const void* lookup(const void* key) const noexcept;

  std::shared_ptr<detail::ContextNode> node_;
};

/// Cancels the context it came with, and every context derived from it. Copyable; calling it
/// again (from any copy, task or thread) does nothing. Call it as soon as the work the
/// context governs is over, so its timer and its place in the parent are released early.
class CancelFunc {
 public:
  CancelFunc() noexcept = default;
  /// Cancels with errc::canceled (unless the context is already done).
  void operator()() const;

  /// @cond INTERNAL
  explicit CancelFunc(std::shared_ptr<detail::ContextNode> node) noexcept
      : node_(std::move(node)) {}
  /// @endcond

 private:
  std::shared_ptr<detail::ContextNode> node_;
};

/// What with_cancel, with_deadline and with_timeout return: `auto [ctx, cancel] = ...`.
struct ContextWithCancel {
  Context ctx;        ///< The new child context.
  CancelFunc cancel;  ///< Cancels ctx (and its descendants).
};

/// The root of every context tree: never cancelled, no deadline, no values.
inline Context background() noexcept { return Context{}; }
/// Same as background(); marks code where the right context is not yet known (Go's TODO).
inline Context todo() noexcept { return Context{}; }

/// A child of `parent` that is also cancelled by calling the returned CancelFunc. If `parent`
/// is already done, so is the child (with the same err()).
[[nodiscard]] ContextWithCancel with_cancel(const Context& parent);

/// A child of `parent` that is cancelled with errc::deadline_exceeded at `deadline` (by a
/// runtime timer; no task waits for it), or earlier by the CancelFunc or the parent. A
/// deadline already past gives a context that is done at once. If the parent's deadline is
/// earlier, the child keeps the parent's. `TimePoint::max()` is no deadline at all: the
/// child's deadline() is then the parent's (empty under background()).
[[nodiscard]] ContextWithCancel with_deadline(const Context& parent, TimePoint deadline);

/// with_deadline(parent, Clock::now() + timeout). A timeout too long to represent saturates
/// to no deadline (TimePoint::max()); zero or negative gives a context done at once.
template <class Rep, class Period>
[[nodiscard]] ContextWithCancel with_timeout(const Context& parent,
                                             std::chrono::duration<Rep, Period> timeout) {
  const TimePoint now = Clock::now();
  if (timeout <= std::chrono::duration<Rep, Period>::zero()) return with_deadline(parent, now);
  // Compared in the caller's unit, where the room left always fits: converting a long
  // timeout to the clock's nanoseconds first would overflow.
  const auto room =
      std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(TimePoint::max() - now);
  if (timeout >= room) return with_deadline(parent, TimePoint::max());
  return with_deadline(parent, now + std::chrono::ceil<Clock::duration>(timeout));
}

/// @cond INTERNAL
namespace detail {
Context make_value_context(const Context& parent, const void* key,
                           std::shared_ptr<const void> value);

/// A callback run once, when a context becomes done. Used by blocking primitives (Semaphore,
/// ErrGroup) to wake a parked party without a channel. fire() runs under the context's
/// internal lock, on whatever thread cancels (a timer callback included): it must be short
/// and must not block or touch the context.
struct ContextHook {
  void (*fire)(ContextHook& hook) = nullptr;
  void* arg = nullptr;
  ListLinks<ContextHook> links;  // under the context's lock
  bool linked = false;           // registered (until it fires or is removed)
};
/// Registers `hook` with `ctx`; false (and nothing registered) if ctx is already done or can
/// never be done.
bool context_add_hook(const Context& ctx, ContextHook& hook);
/// Unregisters `hook`; true if it was still registered (so it has not fired and never will).
bool context_remove_hook(const Context& ctx, ContextHook& hook) noexcept;
/// Cancellable children currently linked to `ctx`'s canceller (for tests: cancelled or
/// destroyed children must not stay linked).
std::size_t context_linked_children(const Context& ctx);
}  // namespace detail
/// @endcond

/// A child of `parent` that carries `value` under `key` (plus everything of the parent). Use
/// it for request-scoped data that crosses API boundaries, not for optional parameters.
template <class V, class U>
requires std::is_constructible_v<V, U&&> Context with_value(const Context& parent,
                                                            const ContextKey<V>& key, U&& value) {
  return detail::make_value_context(parent, &key,
                                    std::make_shared<const V>(std::forward<U>(value)));
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
