// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Task, spindle::spawn and the calls a task makes about itself: yield and sleep.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/clock.hpp"
#include "spindle/detail/task_core.hpp"
#include "spindle/source_location.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// Handle to a spawned task producing a T (or nothing, for `Task<void>`).
///
/// Move-only. Exactly one of join() or detach() should be called; a handle destroyed while
/// neither happened leaves the task running and marks it *never joined*, which the leak
/// detector reports together with the spawn site.
///
/// @code
/// spindle::Task<int> t = spindle::spawn([] { return 6 * 7; });
/// int v = t.join();   // 42; rethrows what the task threw
/// @endcode
template <class T>
class [[nodiscard("a Task that is neither joined nor detached is reported as never joined")]] Task {
 public:
  /// An empty handle (as after a move): join() and detach() throw.
  Task() noexcept = default;
  /// Takes over `other`'s task; `other` becomes empty.
  Task(Task && other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
  /// Takes over `other`'s task, leaving `other` empty. A task this handle still referred to is
  /// dropped as by the destructor: it runs on and is reported as never joined.
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      drop();
      core_ = std::exchange(other.core_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { drop(); }

  /// Waits for the task to finish and returns its result, rethrowing its exception. Parks
  /// the calling task, or blocks the calling thread outside any task.
  /// @throws std::logic_error if the handle was already joined, detached or moved from.
  T join() { return join_impl(nullptr); }

  /// Lets the task run on with nobody waiting for it (it is not a leak once it finishes).
  /// @throws std::logic_error if the handle was already joined, detached or moved from.
  void detach() {
    if (core_ == nullptr) {
      throw std::logic_error("spindle::Task::detach: task already joined, detached or moved from");
    }
    // seq_cst: the handle's half of the failure handshake (TaskCore::failure): a
    // task that failed before this store is reported here, one that fails after by itself.
    core_->handle_state.store(detail::TaskCore::HandleState::detached, std::memory_order_seq_cst);
    if (core_->failure_pending()) [[unlikely]]
      detail::report_unhandled(*core_);
    std::exchange(core_, nullptr)->release();
  }

  /// True while the handle still refers to a task (not joined, detached or moved from).
  bool valid() const noexcept { return core_ != nullptr; }
  /// True once the task's body has returned or thrown (join() will not block).
  bool done() const noexcept { return core_ != nullptr && core_->done(); }
  /// The task's id, as in Runtime::tasks(); 0 for an empty handle.
  std::uint64_t id() const noexcept { return core_ != nullptr ? core_->id : 0; }

  /// @cond INTERNAL
  explicit Task(detail::TaskCore * core) noexcept : core_(core) {}
  /// join() for Runtime::block_on: also detects a deadlock of `sched` (see Options).
  T join_watching(detail::Scheduler * sched) { return join_impl(sched); }
  /// @endcond

 private:
  T join_impl(detail::Scheduler * watch) {
    if (core_ == nullptr) {
      throw std::logic_error("spindle::Task::join: task already joined, detached or moved from");
    }
    if (watch != nullptr) {
      try {
        detail::block_on_wait(watch, core_);
      } catch (...) {
        detach();  // the root task stays blocked; teardown unwinds it
        throw;
      }
    } else {
      core_->wait();
    }
    auto* core = std::exchange(core_, nullptr);
    // relaxed: read by the leak detector as a hint; release() orders the rest.
    core->handle_state.store(detail::TaskCore::HandleState::joined, std::memory_order_relaxed);
    struct Release {
      detail::TaskCore* c;
      ~Release() { c->release(); }
    } release{core};
    return static_cast<detail::TaskResult<T>*>(core)->take();
  }

  void drop() noexcept {
    if (core_ != nullptr) {
      // seq_cst: pairs with the finishing task's exchange of its join word, so that at least
      // one side sees the task both finished and unjoined (duplicates are filtered).
      core_->handle_state.store(detail::TaskCore::HandleState::dropped, std::memory_order_seq_cst);
      detail::note_dropped_handle(core_);
      std::exchange(core_, nullptr)->release();
    }
  }

  detail::TaskCore* core_ = nullptr;
};

/// A task's name for diagnostics, given at spawn: `spindle::spawn(spindle::TaskName{"fetch"}, fn)`.
/// Names show in Runtime::tasks(), leak and deadlock reports, dumps and the gdb extension;
/// they need not be unique.
struct TaskName {
  /// Names a task `name` (copied; may be empty).
  explicit TaskName(std::string_view name) : value(name) {}
  /// The name, as it will appear in TaskInfo::name.
  std::string value;
};

/// @cond INTERNAL
namespace detail {
template <class F>
using SpawnResult = std::invoke_result_t<std::decay_t<F>&>;

template <class F>
Task<SpawnResult<F>> spawn_on(Scheduler* sched, F&& fn, spindle::source_location site,
                              TaskName* name = nullptr) {
  using T = SpawnResult<F>;
  auto* core = new TaskBody<T, std::decay_t<F>>(std::forward<F>(fn));
  core->set_spawn_site(site);
  try {
    // Not yet visible to anyone: no lock needed.
    if (name != nullptr) core->name = std::make_unique<std::string>(std::move(name->value));
    spawn_core(sched, core);
  } catch (...) {
    delete core;
    throw;
  }
  return Task<T>(core);
}
}  // namespace detail
/// @endcond

/// Starts `fn` as a new task on the runtime of the calling task and returns its handle.
/// The spawn site is recorded for diagnostics.
/// @throws std::logic_error when called outside any task (use Runtime::spawn there).
/// @throws std::system_error or std::bad_alloc when no stack can be had.
template <class F>
Task<detail::SpawnResult<F>> spawn(
    F&& fn, spindle::source_location site = spindle::source_location::current()) {
  return detail::spawn_on(nullptr, std::forward<F>(fn), site);
}

/// spawn() that names the task for diagnostics:
/// `spindle::spawn(spindle::TaskName{"fetch"}, [] { ... });`
template <class F>
Task<detail::SpawnResult<F>> spawn(
    TaskName name, F&& fn, spindle::source_location site = spindle::source_location::current()) {
  return detail::spawn_on(nullptr, std::forward<F>(fn), site, &name);
}

/// Names (or renames) the calling task for diagnostics.
/// @throws std::logic_error when called outside any task.
void set_task_name(std::string_view name);

/// The id of the calling task (as in Runtime::tasks()), or 0 on a plain thread.
std::uint64_t current_task_id() noexcept;

/// Lets other runnable tasks run before the caller continues. On a plain thread it yields the
/// thread to the OS.
void yield();

/// Suspends the calling task (or thread) until `deadline` has passed.
void sleep_until(TimePoint deadline);

/// Suspends the calling task (or thread) for at least `d`.
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
  if (d <= d.zero()) {
    yield();
    return;
  }
  sleep_until(Clock::now() + std::chrono::ceil<Clock::duration>(d));
}

/// True when the caller runs inside a spindle task.
bool in_task() noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
