// The task registry: every task of a runtime from spawn until it finishes, so that
// Runtime::tasks(), leak checks, dumps and teardown can name each one.
//
// Tasks are kept in intrusive lists, one per worker plus one for spawns from outside
// threads. A spawn on worker w links into shard w, and most tasks also finish on w: those
// two are the hot path, and they cost no atomic read-modify-write. Shard w is guarded by an
// asymmetric lock: its owner (worker w's thread) announces itself with a plain store and a
// compiler barrier; everyone else (scans, a rename from another worker) is a "visitor" who
// announces itself and then runs membarrier(2), which makes every thread of the process
// execute a full barrier, so either the owner sees the visitor or the visitor sees the
// owner. Visits are rare and may cost microseconds. Where membarrier is not available both
// sides use a full fence. A task that finishes on another worker does not unlink itself: it
// marks itself gone, hands its fiber's reference to the registry (which keeps the core
// alive) and pushes itself onto the shard's lock-free stack of departed tasks, which the
// owner (or a visitor) unlinks and releases later.
// Either way a task is out of the registry (unlinked or marked gone) before its joiner is
// woken, so a join followed by a leak check never sees it. The shard for outside threads
// has no owner; everyone visits it, without membarrier.
//
// Never-joined tasks: a task whose handle was dropped without join() or detach() is reported
// while alive (from its registry entry) and, once finished, from a process-wide bounded log
// of snapshots keyed by runtime id (a handle may outlive its runtime, so the log cannot live
// in the runtime). Handle drop and finish race: the finisher's seq_cst exchange of the join
// word (which it does anyway, to wake a joiner) is followed by a seq_cst load of the handle
// state; the dropper's seq_cst store of the handle state by a seq_cst load of the join word.
// In the single order of seq_cst operations one of the two loads comes last and sees the
// other side's write, so at least one side records the task, and an exchange on
// never_joined_noted keeps it to one. No barrier beyond the one finishing already costs.
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

  /// Registers a spawned task in `shard`: the caller's worker index (the shard it owns), or
  /// outside_shard() from any other thread.
  void add(TaskCore* core, std::size_t shard) noexcept;
  /// A task's body is done: takes it out of the registry, then wakes its joiner (out first,
  /// so a join followed by a leak check never sees it), and records it if its handle was
  /// already dropped. `worker`: the caller's worker index, or outside_shard() if none.
  /// Returns whether the caller still holds its reference to the core; false: the registry
  /// took it over (released once the task is unlinked).
  [[nodiscard]] bool finish(TaskCore* core, std::size_t worker) noexcept;

  std::size_t outside_shard() const noexcept { return shards_.size() - 1; }

  /// Unlinks and releases the tasks of `worker`'s shard that finished on other workers
  /// (the owner does this every so often when it spawns; a worker about to sleep calls it).
  void sweep(std::size_t worker) noexcept;

  /// Live tasks except `exclude`, then (if asked) the finished never-joined ones.
  std::vector<TaskInfo> snapshot(const TaskCore* exclude, bool with_never_joined) const;

  /// Live tasks except `exclude`, in id order, with their raw wait facts.
  std::vector<TaskScan> scan(const TaskCore* exclude) const;

  /// Finished never-joined tasks of this runtime.
  std::vector<TaskInfo> never_joined() const;

  /// Renames a live task (its own call, or before it is registered); `worker` as in finish().
  void set_name(TaskCore* core, std::string_view name, std::size_t worker);

  /// Describes a live core; `scan` (optional) receives the raw wait facts.
  static TaskInfo describe(const TaskCore& core, std::int64_t now_ns, TaskScan* scan = nullptr);

 private:
  class SpinLock {
   public:
    void lock() noexcept {
      // acquire: pairs with unlock()'s release; the list is consistent once we hold it.
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      lock_contended();
    }
    void unlock() noexcept {
      // release: pairs with lock()'s acquire exchange.
      locked_.store(false, std::memory_order_release);
    }

   private:
    void lock_contended() noexcept;
    std::atomic<bool> locked_{false};
  };
  struct alignas(64) Shard {
    std::atomic<bool> owner_in{false};    // the owner is inside (or about to be)
    std::atomic<bool> visitor_in{false};  // a visitor is inside (or about to be)
    SpinLock visitors;                    // one visitor at a time
    std::uint32_t adds = 0;  // the owner's count, to sweep departed tasks every so often
    TaskCore* head = nullptr;
    // Finished elsewhere, still linked; pushed by other workers, so on a line of its own.
    alignas(64) std::atomic<TaskCore*> departed{nullptr};
  };

  /// Every shard but the last (the outside threads') belongs to a worker. Decided by
  /// address, so asking does not touch the shard's cache line.
  bool has_owner(const Shard& s) const noexcept { return &s != &shards_.back(); }
  void owner_enter(Shard& s) noexcept;
  void owner_leave(Shard& s) noexcept;
  void visit(Shard& s) const noexcept;  // after visitors.lock(); once per shard per visit
  void leave_visit(Shard& s) const noexcept;
  /// Unlinks the departed tasks (inside the shard); returns them for release() outside.
  static TaskCore* unlink_departed(Shard& s) noexcept;
  static void release_departed(TaskCore* list) noexcept;
  static void unlink(Shard& s, TaskCore* core) noexcept;
  template <class F>
  void for_each_shard_visited(F&& f) const;

  bool asymmetric_;  // membarrier(2) is available
  mutable std::vector<Shard> shards_;
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
