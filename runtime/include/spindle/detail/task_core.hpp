// SPDX-License-Identifier: Apache-2.0
// The shared state of one task: what the Task<T> handle and the running fiber both hold.
//
// Ownership: two references at spawn, one for the handle and one for the running fiber;
// whoever drops the last one deletes the core. The result (value or exception) is written
// by the fiber before it publishes completion with a release store of kDone to join_word,
// which pairs with the joiner's acquire load.
//
// join_word: 0 = running, 1 = done, otherwise the address of the one joiner's Waiter.
// Only one joiner can exist (Task is move-only), so a CAS from 0 to the waiter registers it
// and the finishing fiber's exchange to kDone finds it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/clock.hpp"
#include "spindle/source_location.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {
class Runtime;
}

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

class Scheduler;
class Waiter;
class Fiber;

/// Thrown from blocking calls inside tasks that the runtime is tearing down, so that the
/// destructors on the task's stack run. Deliberately not a std::exception: catch (...) that
/// swallows it breaks teardown, so such handlers must rethrow.
struct ForcedUnwind {};

class TaskCore {
 public:
  TaskCore() = default;
  TaskCore(const TaskCore&) = delete;
  TaskCore& operator=(const TaskCore&) = delete;
  virtual ~TaskCore() = default;

  // Records come from per-thread caches (runtime/task_alloc.cpp), since glibc's malloc
  // would otherwise be a large part of spawn and join. The deleting destructor passes the
  // dynamic type's size, which picks the size class.
  static void* operator new(std::size_t size);
  static void operator delete(void* p, std::size_t size) noexcept;
  static void* operator new(std::size_t size, std::align_val_t align);
  static void operator delete(void* p, std::size_t size, std::align_val_t align) noexcept;

  /// Runs the body on the task's own stack and stores its result or exception.
  virtual void run() noexcept = 0;

  /// Drops one reference; deletes the core when it was the last.
  void release() noexcept {
    // acq_rel: the last owner must see every write of the other owner before deleting.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Blocks the caller (task or thread) until the body finished.
  void wait();
  /// Like wait(), but gives up at `deadline`; true when the body finished.
  bool wait_until(TimePoint deadline);
  bool done() const noexcept {
    // acquire: pairs with the release in finish(); the result is readable afterwards.
    return join_word_.load(std::memory_order_acquire) == kDone;
  }
  /// Marks the body finished and wakes the joiner, if any. Called once, by the fiber.
  void finish() noexcept;
  /// done(), as a seq_cst load: the handle's half of the never-joined handshake
  /// (runtime/task_registry.hpp).
  bool finished_seq_cst() const noexcept {
    return join_word_.load(std::memory_order_seq_cst) == kDone;
  }

  /// Marks a task that never ran: cancelled by teardown, or no stack could be had for it.
  void fail(std::exception_ptr error) noexcept { error_ = std::move(error); }

  /// The failure recorded by the body (or fail()); null when it returned normally.
  const std::exception_ptr& error_ptr() const noexcept { return error_; }

  void rethrow_if_failed() const {
    if (error_) std::rethrow_exception(error_);
  }

  // Laid out so that the one-byte and four-byte fields share a word and the name costs a
  // pointer: an empty task's record (TaskBody) then takes 128 bytes, two of the record
  // allocator's 64-byte granules (runtime/task_alloc.cpp). The layout is the same under
  // g++ and clang++ (spindle::source_location is the library's own type).

  /// Where the task was spawned.
  spindle::source_location spawn_site() const noexcept {
    return spindle::source_location::current(spawn_file_, spawn_line_, 0, spawn_function_);
  }
  void set_spawn_site(const spindle::source_location& site) noexcept {
    spawn_file_ = site.file_name();
    spawn_function_ = site.function_name();
    spawn_line_ = site.line();
  }

  std::uint64_t id = 0;
  std::uint64_t parent_id = 0;  // id of the task that spawned it; 0 from a plain thread
  // Optional (null until set_task_name); written under the registry shard's lock.
  std::unique_ptr<std::string> name;

  // Registry bookkeeping (runtime/task_registry.cpp), guarded by the registry shard's lock
  // except where noted.
  std::uint64_t runtime_id = 0;           // set at spawn; keys the never-joined log
  std::uint64_t spawned_at = 0;           // stamp clock ticks at spawn (runtime/stamp_clock.hpp)
  std::atomic<Fiber*> fiber{nullptr};     // the running fiber, once started
  void* reg_node = nullptr;               // its entry in the shard's list (a TaskRegistry::Node)
  TaskCore* reg_departed_next = nullptr;  // in one of its shard's stacks of cores to release
  std::uint32_t reg_shard = 0;
  std::atomic<bool> reg_gone{false};  // finished elsewhere, maybe still linked for a while
  std::atomic<bool> never_joined_noted{false};

  // Handle bookkeeping, for the leak detector. Written by the handle's owner only.
  enum class HandleState : std::uint8_t { held, joined, detached, dropped };
  std::atomic<HandleState> handle_state{HandleState::held};
  // kFailurePending: the body failed (an exception other than teardown's), set by the task
  // after its result is written. With handle_state it decides who reports a detached task's
  // failure: each side stores its own flag, then loads the other's (seq_cst both), so at
  // least one sees both; kFailureReported keeps it to one report. One byte, in the padding
  // after handle_state.
  static constexpr std::uint8_t kFailurePending = 1, kFailureReported = 2;
  std::atomic<std::uint8_t> failure{0};
  bool failure_pending() const noexcept {
    return (failure.load(std::memory_order_seq_cst) & kFailurePending) != 0;
  }

 protected:
  std::exception_ptr error_;

 private:
  /// Takes a registered joiner back (true), or waits until finish() has woken it (false).
  bool withdraw(Waiter& w) noexcept;

  static constexpr std::uintptr_t kRunning = 0;
  static constexpr std::uintptr_t kDone = 1;
  // The spawn site as its parts (the column is not kept), so that the line fills the four
  // bytes beside refs_.
  const char* spawn_file_ = "";
  const char* spawn_function_ = "";
  std::uint32_t spawn_line_ = 0;
  std::atomic<std::uint32_t> refs_{2};
  std::atomic<std::uintptr_t> join_word_{kRunning};
};

template <class T>
class TaskResult : public TaskCore {
 public:
  T take() {
    rethrow_if_failed();
    return std::move(*value_);
  }

 protected:
  std::optional<T> value_;
};

template <>
class TaskResult<void> : public TaskCore {
 public:
  void take() { rethrow_if_failed(); }
};

template <class T, class F>
class TaskBody final : public TaskResult<T> {
 public:
  template <class G>
  explicit TaskBody(G&& fn) : fn_(std::in_place, std::forward<G>(fn)) {}
  void run() noexcept override;

 private:
  std::optional<F> fn_;
};

template <class T, class F>
void TaskBody<T, F>::run() noexcept {
  try {
    if constexpr (std::is_void_v<T>) {
      (*fn_)();
    } else {
      this->value_.emplace((*fn_)());
    }
  } catch (...) {
    this->error_ = std::current_exception();
  }
  // The callable's captures (channel handles, say) die with the task, not with the handle.
  fn_.reset();
}

/// The task's body has ended: if it failed, marks it so, and reports it to the unhandled
/// exception handler (spindle/unhandled.hpp) when its handle is already detached.
void note_task_failure(TaskCore& core) noexcept;
/// Reports a failed, detached task to the handler (once, whoever calls first).
void report_unhandled(TaskCore& core) noexcept;

/// Hands a freshly made core to `sched` (nullptr: the running task's scheduler; throws
/// std::logic_error outside any task).
void spawn_core(Scheduler* sched, TaskCore* core);

/// Called by a Task handle dropped without join() or detach() (after it marked the core
/// dropped): records the task as never joined if it has already finished.
void note_dropped_handle(TaskCore* core) noexcept;

/// Runtime::block_on's wait for its root task: a plain join inside a task; on a plain thread
/// it also watches the runtime for a deadlock and throws spindle::Deadlock.
void block_on_wait(Scheduler* sched, TaskCore* core);

/// The scheduler of the running task, or nullptr on a plain thread.
Scheduler* current_scheduler() noexcept;

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
