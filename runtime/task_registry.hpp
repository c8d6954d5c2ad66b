// SPDX-License-Identifier: Apache-2.0
// The task registry: every task of a runtime from spawn until it finishes, so that
// Runtime::tasks(), leak checks, dumps and teardown can name each one.
//
// Tasks are kept in lists of nodes, one list per worker plus one for spawns from outside
// threads. A spawn on worker w links a node into shard w, and most tasks also finish on w:
// those two are the hot path, and they cost no atomic read-modify-write. Shard w is guarded
// by an asymmetric lock: its owner (worker w's thread) announces itself with a plain store
// and a compiler barrier; everyone else (scans, a rename from another worker) is a "visitor"
// who announces itself and then runs membarrier(2), which makes every thread of the process
// execute a full barrier, so either the owner sees the visitor or the visitor sees the
// owner. Visits are rare and may cost microseconds. Where membarrier is not available both
// sides use a full fence.
//
// A task that finishes on another worker f cannot unlink itself. It marks its core gone and
// writes its node's address into the shard's ring for f (single producer: f; the consumer
// is whoever is inside the shard), which the owner drains every so often; it then drops its
// own reference to the core as usual. The nodes live in the shard, apart from the cores, so
// the owner unlinks a node without touching a core that another worker's cache holds, and
// the finisher needs no read-modify-write on a line the owner uses. The node may still be
// linked after its core is gone: a visitor therefore drains the rings before it walks, and
// the finisher, after publishing, checks for a visitor with the same membarrier handshake
// as the owner's (publish, compiler barrier, load). If a visitor is inside, the visitor may
// be about to read the core, so the finisher hands its reference to the shard's "deferred"
// stack instead, released by the next one inside. When a ring is full (its owner has been
// busy), the finisher pushes the core onto the shard's "departed" stack and hands over its
// reference: whoever is inside next unlinks the core's node and releases it.
//
// Either way a task is out of the registry (unlinked or marked gone) before its joiner is
// woken, so a join followed by a leak check never sees it. The shard for outside threads
// has no owner and no rings; everyone visits it, without membarrier. Nodes are kept for
// reuse until the registry goes (24 bytes per task at the peak).
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
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "runtime/stamp_clock.hpp"
#include "runtime/test_hooks.hpp"
#include "runtime/tracking.hpp"
#include "spindle/abi.hpp"
#include "spindle/detail/intrusive_list.hpp"
#include "spindle/detail/task_core.hpp"
#include "spindle/detail/waiter.hpp"
#include "spindle/leaks.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// One live task as a registry scan saw it, with the raw facts the partial-deadlock proof
/// needs. `core` and `wait_object` are identities only: never dereferenced after the scan.
struct TaskScan {
  TaskInfo info;
  const TaskCore* core = nullptr;
  const void* wait_object = nullptr;
  WaitKind wait_kind = WaitKind::none;
  std::uint32_t park_seq = 0;
  bool parked = false;
  /// Return addresses of the frames a parked task is blocked in (parked_frames()), when the
  /// scan was asked for them; TaskInfo::frames names them.
  std::vector<void*> frames;
};

/// Which parked tasks a scan reads the frames of (reports only: it copies their stacks).
struct FrameRequest {
  std::size_t max_tasks = 64;  ///< at most this many
  /// Tasks it leaves out get none (they will not be reported).
  const LeakOptions* filter = nullptr;
};

class TaskRegistry {
 public:
  TaskRegistry(std::size_t shards, std::uint64_t runtime_id);
  ~TaskRegistry();

  /// Registers a spawned task in `shard`: the caller's worker index (the shard it owns), or
  /// outside_shard() from any other thread. Throws std::bad_alloc when a node cannot be had.
  inline void add(TaskCore* core, std::size_t shard);
  /// A task's body is done: takes it out of the registry, then wakes its joiner (out first,
  /// so a join followed by a leak check never sees it), and records it if its handle was
  /// already dropped. `worker`: the caller's worker index, or outside_shard() if none.
  /// Returns whether the caller still holds its reference to the core; false: the registry
  /// took it over (released once the task is unlinked).
  [[nodiscard]] inline bool finish(TaskCore* core, std::size_t worker) noexcept;

  std::size_t outside_shard() const noexcept { return shards_.size() - 1; }

  /// Unlinks the tasks of `worker`'s shard that finished on other workers and releases what
  /// the registry holds of them (the owner does this every so often when it spawns; a
  /// worker about to sleep calls it).
  void sweep(std::size_t worker) noexcept;

  /// Live tasks except `exclude`, then (if asked) the finished never-joined ones; with
  /// `frames`, TaskInfo::frames of the parked tasks it selects.
  std::vector<TaskInfo> snapshot(const TaskCore* exclude, bool with_never_joined,
                                 const FrameRequest* frames = nullptr) const;

  /// Live tasks except `exclude`, in id order, with their raw wait facts; with `frames`, the
  /// raw frames of the parked tasks it selects, read inside the shard visits (stacks stay
  /// mapped while the scheduler lives; parked_frames() drops the copy of a task that moved on
  /// meanwhile). Naming the frames is left to the caller, outside the visits.
  std::vector<TaskScan> scan(const TaskCore* exclude, const FrameRequest* frames = nullptr) const;

  /// Finished never-joined tasks of this runtime.
  std::vector<TaskInfo> never_joined() const;

  /// Renames a live task (its own call, or before it is registered); `worker` as in finish().
  void set_name(TaskCore* core, std::string_view name, std::size_t worker);

  /// How often the slow paths of a finish on another worker were taken (for tests).
  struct Stats {
    std::uint64_t ring_full = 0;  // the ring was full: handed over through `departed`
    std::uint64_t deferred = 0;   // a visitor was inside: the release was deferred
  };
  Stats stats() const noexcept;

  /// Describes `core`, a task that cannot finish meanwhile (the monitor holds its worker in
  /// it), from any thread: under its shard's lock, since the task may rename itself.
  TaskInfo describe_live(const TaskCore& core);

  /// Describes a live core; `scan` (optional) receives the raw wait facts.
  static TaskInfo describe(const TaskCore& core, const StampReading& now, TaskScan* scan = nullptr);

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
  /// A task's entry in its shard's list; only whoever is inside the shard touches it. A
  /// free node is chained to the next free one through `links.next`.
  struct Node {
    ListLinks<Node> links;
    TaskCore* core = nullptr;
  };
  /// A shard's tasks: no order is needed, so the head alone is kept.
  using NodeList = IntrusiveList<Node, &Node::links, /*kTail=*/false>;
  /// Nodes of tasks that finished on one other worker, not yet unlinked. Single producer
  /// (that worker); the consumer is whoever is inside the shard.
  struct FinishedRing {
    static constexpr std::uint32_t kSize = 128;
    alignas(64) std::atomic<std::uint32_t> tail{0};  // written by the producer
    std::uint32_t head_seen = 0;                     // the producer's last look at head
    alignas(64) std::atomic<std::uint32_t> head{0};  // written by the consumer
    Node* slots[kSize] = {};
  };
  struct alignas(64) Shard {
    // Written by the owner on every spawn and finish.
    std::atomic<bool> owner_in{false};  // the owner is inside (or about to be)
    std::uint32_t ops = 0;  // the owner's spawns and finishes, to drain the rings every so often
    NodeList tasks;
    Node* free_nodes = nullptr;
    std::vector<std::unique_ptr<Node[]>> chunks;  // where the nodes live
    // Read by the owner and the finishing workers, written only by visitors (rarely).
    alignas(64) std::atomic<bool> visitor_in{false};  // a visitor is inside (or about to be)
    SpinLock visitors;                                // one visitor at a time
    // One ring per worker, made on first use by that worker; none for the outside shard.
    std::unique_ptr<std::atomic<FinishedRing*>[]> rings;
    // Written by other workers. Both hold cores whose reference the registry took over:
    // `departed` ones are still linked, `deferred` ones went through a ring while a visitor
    // was inside.
    alignas(64) std::atomic<TaskCore*> departed{nullptr};
    std::atomic<TaskCore*> deferred{nullptr};
  };

  /// Every shard but the last (the outside threads') belongs to a worker. Decided by
  /// address, so asking does not touch the shard's cache line.
  bool has_owner(const Shard& s) const noexcept { return &s != &shards_.back(); }
  std::size_t workers() const noexcept { return shards_.size() - 1; }
  inline void owner_enter(Shard& s) noexcept;
  static inline void owner_leave(Shard& s) noexcept;
  void owner_wait(Shard& s) noexcept;   // owner_enter() met a visitor
  void visit(Shard& s) const noexcept;  // after visitors.lock(); once per shard per visit
  void leave_visit(Shard& s) const noexcept;
  /// Inside the shard: unlinks what finished elsewhere (rings, departed) and returns the
  /// cores whose references the registry holds, for release_list() outside.
  TaskCore* collect_finished(Shard& s) const noexcept;
  static void release_list(TaskCore* list) noexcept;
  /// Inside the shard: a node for `core` (allocates a chunk when none is free; may throw).
  static inline void link(Shard& s, Node* n, TaskCore* core) noexcept;
  static inline void unlink(Shard& s, Node* node) noexcept;
  /// add() where no node is free, the owner is due to drain, or the shard has no owner.
  void add_slow(TaskCore* core, Shard& s);
  /// finish() of a task from the outside threads' shard.
  void finish_outside(Shard& s, TaskCore* core) noexcept;
  /// The never-joined check after a task's finish (see the header).
  static inline void check_dropped(TaskCore* core) noexcept;
  static constexpr std::uint32_t kDrainEvery = 64;  // spawns and finishes between drains
  /// A task of shard `s` finished on worker `worker` (not s's owner): see the header.
  bool hand_over(Shard& s, TaskCore* core, std::size_t worker) noexcept;
  template <class F>
  void for_each_shard_visited(F&& f) const;

  bool asymmetric_;  // membarrier(2) is available
  std::atomic<std::uint64_t> ring_full_{0};
  std::atomic<std::uint64_t> deferred_{0};
  mutable std::vector<Shard> shards_;
  std::uint64_t runtime_id_;
};

#if SPINDLE_TEST_HOOKS
/// Test hook: called inside each shard a scan visits, after the finished tasks are collected
/// and before the walk, with the shard's index.
extern std::atomic<void (*)(std::size_t)> g_registry_visit_hook;
#endif

/// Records a finished task whose handle was dropped unjoined (deduplicated per task).
void record_never_joined(TaskCore* core) noexcept;

// The hot paths, inline: a spawn and a finish on the owning worker.

inline void TaskRegistry::owner_enter(Shard& s) noexcept {
  // relaxed + compiler barrier: a visitor's membarrier() orders this store before our
  // load below as seen from every thread; without membarrier, a full fence does.
  s.owner_in.store(true, std::memory_order_relaxed);
  if (asymmetric_) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  // acquire: pairs with leave_visit()'s release; what the visitor did happens before us.
  if (s.visitor_in.load(std::memory_order_acquire)) [[unlikely]]
    owner_wait(s);
}

inline void TaskRegistry::owner_leave(Shard& s) noexcept {
  // release: pairs with visit()'s acquire; our list changes happen before the visit.
  s.owner_in.store(false, std::memory_order_release);
}

inline void TaskRegistry::link(Shard& s, Node* n, TaskCore* core) noexcept {
  s.free_nodes = n->links.next;
  n->core = core;
  s.tasks.push_front(*n);
  core->reg_node = n;
}

inline void TaskRegistry::unlink(Shard& s, Node* n) noexcept {
  // Read before the unlink: free_nodes is a Node* like the links it writes, so read after,
  // the compiler would have to keep the unlink's null store to links.next.
  Node* const free = s.free_nodes;
  s.tasks.remove(*n);
  n->core = nullptr;
  n->links.next = free;
  s.free_nodes = n;
}

inline void TaskRegistry::add(TaskCore* core, std::size_t shard) {
  if constexpr (!kTrackTasks) return;
  Shard& s = shards_[shard];
  core->reg_shard = static_cast<std::uint32_t>(shard);
  if (has_owner(s)) {
    owner_enter(s);
    // Not every time: the rings' and stacks' lines are written by the other workers, and
    // reading them on every spawn would pull them across for each one.
    if (s.free_nodes != nullptr && ++s.ops % kDrainEvery != 0) [[likely]] {
      link(s, s.free_nodes, core);
      owner_leave(s);
      return;
    }
    owner_leave(s);
  }
  add_slow(core, s);
}

inline void TaskRegistry::check_dropped(TaskCore* core) noexcept {
  // seq_cst: pairs with Task::drop()'s store; finish()'s exchange of the join word is the
  // other half of this side (see the header).
  if (core->handle_state.load(std::memory_order_seq_cst) == TaskCore::HandleState::dropped)
      [[unlikely]]
    record_never_joined(core);
}

inline bool TaskRegistry::finish(TaskCore* core, std::size_t worker) noexcept {
  if constexpr (!kTrackTasks) {
    core->finish();
    return true;
  }
  Shard& s = shards_[core->reg_shard];
  if (worker == core->reg_shard && has_owner(s)) [[likely]] {
    // The owner, on its own shard.
    owner_enter(s);
    unlink(s, static_cast<Node*>(core->reg_node));
    // Finishes count too: an owner busy joining spawns nothing for a while.
    TaskCore* held = ++s.ops % kDrainEvery == 0 ? collect_finished(s) : nullptr;
    owner_leave(s);
    core->finish();
    check_dropped(core);
    if (held != nullptr) [[unlikely]]
      release_list(held);
    return true;
  }
  if (!has_owner(s)) {
    finish_outside(s, core);
    return true;
  }
  // Another worker's shard: its node stays linked a while. Gone, for scans, now.
  // release: pairs with the scan's acquire load.
  core->reg_gone.store(true, std::memory_order_release);
  core->finish();
  check_dropped(core);
  return hand_over(s, core, worker);
}

/// Keeps what a runtime's teardown found leaked, for testing::LeakCheck (bounded).
void publish_teardown_leaks(const std::vector<TaskInfo>& leaked) noexcept;

/// The next task id to be handed out: tasks spawned from now on have ids >= this.
std::uint64_t next_task_id() noexcept;

/// Leaks of tasks with id >= min_task_id that `options` does not leave out: in every live
/// runtime (after waiting up to options.wait or each one's leak_check_wait) and in reports of
/// runtimes destroyed since.
LeakReport collect_leaks_since(std::uint64_t min_task_id, const LeakOptions& options);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
