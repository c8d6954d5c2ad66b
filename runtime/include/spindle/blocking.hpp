// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::blocking: run a blocking call (file I/O, DNS, a C library) without holding a
/// worker, the way Go hands off its P during a system call or Tokio's spawn_blocking does.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/detail/waiter.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// @cond INTERNAL
namespace detail {

/// One call handed to the blocking pool. Shared by the parked task and the pool thread
/// (two references); whoever drops the last one deletes it.
class BlockingJob {
 public:
  virtual ~BlockingJob() = default;
  /// Runs the call and stores its result or exception; never throws.
  virtual void run() noexcept = 0;

  void release() noexcept {
    // acq_rel: the last owner must see the other's writes before deleting.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  Waiter* waiter = nullptr;            // the parked task's waiter (set before submission)
  std::atomic<std::uint32_t> done{0};  // 1 once the pool is finished with the job (a futex)

 private:
  std::atomic<int> refs_{2};
};

/// Hands `job` to the pool and parks the calling task until it has run. If the runtime is
/// torn down meanwhile, blocks the worker thread until the call returns (it may use the
/// task's stack), then lets the unwind proceed. Throws std::system_error when no pool thread
/// can be started (the job is then released and never runs).
void run_blocking_job(BlockingJob& job);

/// Number of threads in the blocking pool right now (for tests and diagnostics).
std::size_t blocking_pool_threads() noexcept;

}  // namespace detail
/// @endcond

/// Runs `fn()` on spindle's elastic pool of blocking threads and parks the calling task until
/// it returns; returns its result or rethrows its exception. Called outside any task, simply
/// calls `fn()` on the calling thread.
///
/// @code
/// std::string text = spindle::blocking([] { return slow_c_library_call(); });
/// @endcode
///
/// The pool grows on demand (up to 512 threads) and a thread that stays idle for 10 seconds
/// exits, so a program that never blocks holds none. `fn` must not itself wait for tasks that
/// need the pool's capacity; everything else, including spindle calls, is fine: pool threads
/// count as plain threads.
template <class F>
std::invoke_result_t<std::decay_t<F>&> blocking(F&& fn) {
  using R = std::invoke_result_t<std::decay_t<F>&>;
  static_assert(!std::is_reference_v<R>,
                "spindle::blocking: fn returns a reference; return a value or a pointer");
  if (detail::current_fiber() == nullptr) return std::invoke(fn);

  struct Job final : detail::BlockingJob {
    explicit Job(F&& f) : fn(std::forward<F>(f)) {}
    void run() noexcept override {
      try {
        if constexpr (std::is_void_v<R>) {
          std::invoke(fn);
        } else {
          result.emplace(std::invoke(fn));
        }
      } catch (...) {
        error = std::current_exception();
      }
    }
    std::decay_t<F> fn;
    std::optional<std::conditional_t<std::is_void_v<R>, int, R>> result;
    std::exception_ptr error;
  };

  auto* job = new Job(std::forward<F>(fn));
  struct Release {
    Job* j;
    ~Release() { j->release(); }
  } release{job};
  detail::run_blocking_job(*job);
  // Taken out of the job, so the exception lives and dies on this thread: the pool thread
  // may drop the job's last reference, and must not destroy an exception we still use.
  if (job->error) std::rethrow_exception(std::exchange(job->error, nullptr));
  if constexpr (!std::is_void_v<R>) return std::move(*job->result);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
