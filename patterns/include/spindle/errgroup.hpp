// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::ErrGroup: tasks working on parts of one job; the first error cancels the rest.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "spindle/abi.hpp"
#include "spindle/context.hpp"
#include "spindle/semaphore.hpp"
#include "spindle/source_location.hpp"
#include "spindle/task.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A group of tasks working on subtasks of a common job (golang.org/x/sync/errgroup with
/// WithContext). Each task gets the group's context; the first one to fail (return a non-zero
/// std::error_code, or throw) cancels that context so the others can stop early, and wait()
/// reports that first error.
///
/// @code
/// spindle::ErrGroup g(ctx);
/// for (const auto& url : urls) {
///   g.spawn([url](const spindle::Context& c) -> std::error_code { return fetch(c, url); });
/// }
/// std::error_code first_error = g.wait();   // g.context() was cancelled by it (or by wait())
/// @endcode
///
/// A task body may take `const Context&` or nothing, and return std::error_code or void.
/// An exception thrown by a body counts as that task's failure: it cancels the context and
/// wait() rethrows it (when it was the first failure). spawn() must be called from a task.
///
/// Differences from Go: set_limit(0) is an error rather than a group that can never run
/// anything; the destructor of a group that was not waited for cancels its context and
/// waits for its tasks (the tasks reference the group, and a C++ object cannot outlive them).
class ErrGroup {
 public:
  /// A group whose context derives from background().
  ErrGroup();
  /// A group whose context derives from `parent` (errgroup.WithContext).
  explicit ErrGroup(const Context& parent);
  ErrGroup(const ErrGroup&) = delete;
  ErrGroup& operator=(const ErrGroup&) = delete;
  /// Cancels the context and waits for the tasks if wait() was not called (see above).
  ~ErrGroup() noexcept(false);

  /// The group's context: cancelled by the first failure, and by wait() once every task
  /// has returned.
  const Context& context() const noexcept { return ctx_; }

  /// At most `n` of the group's tasks run at once; spawn() parks while `n` are running.
  /// A negative `n` removes the limit.
  /// @throws std::invalid_argument for 0; std::logic_error if tasks were already spawned.
  void set_limit(std::int64_t n);

  /// Runs `fn` in a new task of the group (parking first while the limit is reached).
  template <class F>
  void spawn(F&& fn, spindle::source_location site = spindle::source_location::current()) {
    if (limit_) limit_->acquire();
    start(std::forward<F>(fn), site);
  }

  /// Like spawn(), but returns false without starting anything if the limit is reached.
  template <class F>
  bool try_spawn(F&& fn, spindle::source_location site = spindle::source_location::current()) {
    if (limit_ && !limit_->try_acquire()) return false;
    start(std::forward<F>(fn), site);
    return true;
  }

  /// Waits for every task spawned so far (and those they spawn), cancels the context, and
  /// returns the first error (empty if none); rethrows the first failure's exception if the
  /// first failure was one.
  std::error_code wait();

 private:
  template <class F>
  void start(F&& fn, spindle::source_location site) {
    try {
      Task<void> t = spindle::spawn(
          [this, f = std::forward<F>(fn)]() mutable {
            struct Release {
              ErrGroup* g;
              ~Release() {
                if (g->limit_) g->limit_->release();
              }
            } release{this};
            run_body(f);
          },
          site);
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(t));
    } catch (...) {
      if (limit_) limit_->release();
      throw;
    }
  }

  template <class F>
  void run_body(F& f) {
    try {
      std::error_code ec;
      if constexpr (std::is_invocable_v<F&, const Context&>) {
        using R = std::invoke_result_t<F&, const Context&>;
        if constexpr (std::is_void_v<R>) {
          f(ctx_);
        } else {
          ec = f(ctx_);
        }
      } else {
        using R = std::invoke_result_t<F&>;
        if constexpr (std::is_void_v<R>) {
          f();
        } else {
          ec = f();
        }
      }
      if (ec) fail(ec, nullptr);
    } catch (const detail::ForcedUnwind&) {
      throw;  // runtime teardown, not a failure of the body
    } catch (...) {
      fail(std::error_code{}, std::current_exception());
    }
  }

  void fail(std::error_code ec, std::exception_ptr ex) noexcept;

  Context ctx_;
  CancelFunc cancel_;
  std::optional<Semaphore> limit_;
  std::mutex mu_;  // guards what follows; never held across a park
  std::vector<Task<void>> tasks_;
  bool failed_ = false;
  std::error_code first_error_;
  std::exception_ptr first_exception_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
