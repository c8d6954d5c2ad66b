// The task registry: every task of a runtime from spawn until it finishes, so that
// Runtime::tasks(), leak checks, dumps and teardown can name each one.
//
// Tasks are kept in intrusive lists, one per worker plus one for spawns from outside
// threads, each behind a small spin lock: a spawn on worker w links into shard w, almost
// always uncontended; the finish may happen on another worker and then briefly takes w's
// lock. A task leaves the registry before its joiner is woken, so a join followed by a leak
// check never sees it.
//
// Never-joined tasks: a task whose handle was dropped without join() or detach() is reported
// while alive (from its registry entry) and, once finished, from a process-wide bounded log
// of snapshots keyed by runtime id (a handle may outlive its runtime, so the log cannot live
// in the runtime). Handle drop and finish race; both sides publish their half with a seq_cst store
// and read the other's with a seq_cst load, so at least one of them records the task, and
// an exchange on never_joined_noted keeps it to one.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "spindle/detail/task_core.hpp"
#include "spindle/detail/waiter.hpp"
#include "spindle/leaks.hpp"

namespace spindle::detail {

/// One live task as a registry scan saw it, with the raw facts the partial-deadlock proof
/// needs. `core` and `wait_object` are identities only: never dereferenced after the scan.
struct TaskScan {
  TaskInfo info;
  const TaskCore* core = nullptr;
  const void* wait_object = nullptr;
  WaitKind wait_kind = WaitKind::none;
  std::uint32_t park_seq = 0;
  bool parked = false;
};

class TaskRegistry {
 public:
  TaskRegistry(std::size_t shards, std::uint64_t runtime_id);
  ~TaskRegistry();

  void add(TaskCore* core, std::size_t shard) noexcept;
  /// Unlinks a finishing task; records it if its handle was already dropped.
  void remove(TaskCore* core) noexcept;

  /// Live tasks except `exclude`, then (if asked) the finished never-joined ones.
  std::vector<TaskInfo> snapshot(const TaskCore* exclude, bool with_never_joined) const;

  /// Live tasks except `exclude`, in id order, with their raw wait facts.
  std::vector<TaskScan> scan(const TaskCore* exclude) const;

  /// Finished never-joined tasks of this runtime.
  std::vector<TaskInfo> never_joined() const;

  /// Renames a live task (its own call, or before it is registered).
  void set_name(TaskCore* core, std::string_view name);

  /// Describes a live core; `scan` (optional) receives the raw wait facts.
  static TaskInfo describe(const TaskCore& core, std::int64_t now_ns, TaskScan* scan = nullptr);

 private:
  class SpinLock {
   public:
    void lock() noexcept;
    void unlock() noexcept {
      // release: pairs with lock()'s acquire exchange.
      locked_.store(false, std::memory_order_release);
    }

   private:
    std::atomic<bool> locked_{false};
  };
  struct alignas(64) Shard {
    mutable SpinLock lock;
    TaskCore* head = nullptr;
  };

  std::vector<Shard> shards_;
  std::uint64_t runtime_id_;
};

/// Records a finished task whose handle was dropped unjoined (deduplicated per task).
void record_never_joined(TaskCore* core) noexcept;

/// Keeps what a runtime's teardown found leaked, for testing::LeakCheck (bounded).
void publish_teardown_leaks(const std::vector<TaskInfo>& leaked) noexcept;

/// The next task id to be handed out: tasks spawned from now on have ids >= this.
std::uint64_t next_task_id() noexcept;

/// Leaks of tasks with id >= min_task_id that `options` does not leave out: in every live
/// runtime (after waiting up to options.wait or each one's leak_check_wait) and in reports of
/// runtimes destroyed since.
LeakReport collect_leaks_since(std::uint64_t min_task_id, const LeakOptions& options);

}  // namespace spindle::detail
