// SPDX-License-Identifier: Apache-2.0
#include "runtime/task_registry.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "runtime/fiber.hpp"
#include "runtime/parked_frames.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/tracking.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

constexpr std::size_t kMaxNeverJoined = 10'000;

// Process-wide: Task handles may outlive their runtime.
struct NeverJoinedLog {
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, TaskInfo>> entries;  // (runtime id, task)
};
struct TeardownLog {
  std::mutex mu;
  std::vector<TaskInfo> entries;
};
TeardownLog& teardown_log() {
  static TeardownLog* log = new TeardownLog;  // never destroyed: used at exit too
  return *log;
}

NeverJoinedLog& never_joined_log() {
  static NeverJoinedLog* log = new NeverJoinedLog;  // never destroyed: used at exit too
  return *log;
}

}  // namespace

void TaskRegistry::SpinLock::lock_contended() noexcept {
  for (int spins = 0;; ++spins) {
    // relaxed: only a hint to retry; the exchange below synchronises.
    while (locked_.load(std::memory_order_relaxed)) {
      if (spins++ > 64) std::this_thread::yield();
    }
    // acquire: as in lock().
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
  }
}

static bool membarrier_registered() noexcept {
  // Registration is process-wide and idempotent; done before any owner relies on it.
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

TaskRegistry::TaskRegistry(std::size_t shards, std::uint64_t runtime_id)
    : asymmetric_(kTrackTasks && membarrier_registered()),
      shards_(shards),
      runtime_id_(runtime_id) {
  for (Shard& s : shards_) {
    if (!has_owner(s)) continue;
    s.rings = std::make_unique<std::atomic<FinishedRing*>[]>(workers());  // all null (C++20)
  }
}

TaskRegistry::~TaskRegistry() {
  // Every task has finished; some may still be waiting for their unlink and release.
  for (Shard& s : shards_) {
    release_list(collect_finished(s));
    if (s.rings == nullptr) continue;
    for (std::size_t i = 0; i < workers(); ++i) {
      delete s.rings[i].load(std::memory_order_relaxed);  // relaxed: the workers are gone
    }
  }
  NeverJoinedLog& log = never_joined_log();
  std::lock_guard lock(log.mu);
  std::erase_if(log.entries, [&](const auto& e) { return e.first == runtime_id_; });
}

void TaskRegistry::owner_wait(Shard& s) noexcept {
  for (;;) {
    // release: nothing to publish, but a visitor waiting for us must not stall on it.
    s.owner_in.store(false, std::memory_order_release);
    // acquire: pairs with leave_visit()'s release; what the visitor did happens before us.
    while (s.visitor_in.load(std::memory_order_acquire)) std::this_thread::yield();
    // relaxed + barrier, acquire: as in owner_enter().
    s.owner_in.store(true, std::memory_order_relaxed);
    if (asymmetric_) {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    if (!s.visitor_in.load(std::memory_order_acquire)) return;
  }
}

void TaskRegistry::visit(Shard& s) const noexcept {
  if (!has_owner(s)) return;
  // seq_cst + membarrier: see owner_enter().
  s.visitor_in.store(true, std::memory_order_seq_cst);
  if (asymmetric_) {
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  // acquire: pairs with owner_leave()'s release.
  while (s.owner_in.load(std::memory_order_acquire)) std::this_thread::yield();
}

void TaskRegistry::leave_visit(Shard& s) const noexcept {
  // release: pairs with owner_enter()'s acquire.
  if (has_owner(s)) s.visitor_in.store(false, std::memory_order_release);
}

TaskCore* TaskRegistry::collect_finished(Shard& s) const noexcept {
  if (s.rings != nullptr) {
    for (std::size_t i = 0; i < workers(); ++i) {
      // acquire: pairs with hand_over()'s release store; the ring is initialised.
      FinishedRing* r = s.rings[i].load(std::memory_order_acquire);
      if (r == nullptr) continue;
      // acquire: pairs with hand_over()'s release of tail; the slots below it are written.
      const std::uint32_t tail = r->tail.load(std::memory_order_acquire);
      // relaxed: only whoever is inside the shard writes head, and entering orders us
      // after the previous one inside.
      std::uint32_t head = r->head.load(std::memory_order_relaxed);
      if (head == tail) continue;
      for (; head != tail; ++head) unlink(s, r->slots[head % FinishedRing::kSize]);
      // release: pairs with hand_over()'s acquire of head; the slots are free to reuse.
      r->head.store(head, std::memory_order_release);
    }
  }
  TaskCore* out = nullptr;
  // relaxed peeks: both stacks are nearly always empty, and an exchange is not free.
  if (s.departed.load(std::memory_order_relaxed) != nullptr) {
    // acquire: pairs with hand_over()'s release push; the pushed cores are ours now.
    TaskCore* c = s.departed.exchange(nullptr, std::memory_order_acquire);
    while (c != nullptr) {
      TaskCore* next = c->reg_departed_next;
      unlink(s, static_cast<Node*>(c->reg_node));
      c->reg_departed_next = out;
      out = c;
      c = next;
    }
  }
  if (s.deferred.load(std::memory_order_relaxed) != nullptr) {
    // acquire: as above. These went through a ring: their nodes are unlinked there.
    TaskCore* c = s.deferred.exchange(nullptr, std::memory_order_acquire);
    while (c != nullptr) {
      TaskCore* next = c->reg_departed_next;
      c->reg_departed_next = out;
      out = c;
      c = next;
    }
  }
  return out;
}

void TaskRegistry::release_list(TaskCore* list) noexcept {
  while (list != nullptr) {
    TaskCore* next = list->reg_departed_next;
    list->release();  // the finisher's reference, which the registry took over
    list = next;
  }
}

void TaskRegistry::sweep(std::size_t worker) noexcept {
  if constexpr (!kTrackTasks) return;
  Shard& s = shards_[worker];
  if (!has_owner(s)) return;
  owner_enter(s);
  TaskCore* held = collect_finished(s);
  owner_leave(s);
  release_list(held);
}

template <class F>
void TaskRegistry::for_each_shard_visited(F&& f) const {
  // One membarrier per owned shard; visits are rare (scans, dumps, leak checks).
  for (Shard& s : shards_) {
    TaskCore* held = nullptr;
    {
      std::lock_guard lock(s.visitors);
      visit(s);
      // Before the walk: a node whose core may be gone must not be followed.
      held = collect_finished(s);
      try {
        SPINDLE_TEST_HOOK(g_registry_visit_hook, static_cast<std::size_t>(&s - shards_.data()));
        f(s);
      } catch (...) {
        leave_visit(s);
        release_list(held);
        throw;
      }
      leave_visit(s);
    }
    release_list(held);
  }
}

void TaskRegistry::add_slow(TaskCore* core, Shard& s) {
  // Where no node is free, make a chunk of them first: the only step that can fail.
  auto grow = [&s] {
    constexpr std::size_t kChunk = 256;
    s.chunks.reserve(s.chunks.size() + 1);
    auto chunk = std::make_unique<Node[]>(kChunk);
    for (std::size_t i = 0; i < kChunk; ++i) {
      chunk[i].links.next = s.free_nodes;
      s.free_nodes = &chunk[i];
    }
    s.chunks.push_back(std::move(chunk));
  };
  if (!has_owner(s)) {
    std::lock_guard lock(s.visitors);
    if (s.free_nodes == nullptr) grow();
    link(s, s.free_nodes, core);
    return;
  }
  owner_enter(s);
  TaskCore* held = collect_finished(s);
  if (s.free_nodes == nullptr) {
    try {
      grow();
    } catch (...) {
      owner_leave(s);
      release_list(held);
      throw;
    }
  }
  link(s, s.free_nodes, core);
  owner_leave(s);
  release_list(held);
}

void TaskRegistry::finish_outside(Shard& s, TaskCore* core) noexcept {
  {
    std::lock_guard lock(s.visitors);
    unlink(s, static_cast<Node*>(core->reg_node));
  }
  core->finish();
  check_dropped(core);
}

#if SPINDLE_TEST_HOOKS
std::atomic<void (*)(std::size_t)> g_registry_visit_hook{nullptr};
#endif

TaskRegistry::Stats TaskRegistry::stats() const noexcept {
  // relaxed: counters for tests, read after the tasks they count were joined.
  return Stats{ring_full_.load(std::memory_order_relaxed),
               deferred_.load(std::memory_order_relaxed)};
}

bool TaskRegistry::hand_over(Shard& s, TaskCore* core, std::size_t worker) noexcept {
  auto push = [core](std::atomic<TaskCore*>& stack) {
    TaskCore* top = stack.load(std::memory_order_relaxed);  // relaxed: the CAS decides
    do {
      core->reg_departed_next = top;
      // release: publishes reg_departed_next (and the core) to collect_finished().
    } while (!stack.compare_exchange_weak(top, core, std::memory_order_release,
                                          std::memory_order_relaxed));
    return false;  // the registry holds the caller's reference now
  };
  auto overflow = [&] {
    ring_full_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    return push(s.departed);
  };
  if (worker >= workers()) return overflow();
  // acquire: pairs with our own release store below (only this worker installs it).
  FinishedRing* r = s.rings[worker].load(std::memory_order_acquire);
  if (r == nullptr) {
    r = new (std::nothrow) FinishedRing;
    if (r == nullptr) return overflow();
    // release: pairs with collect_finished()'s acquire load; the ring is initialised.
    s.rings[worker].store(r, std::memory_order_release);
  }
  // relaxed: only this worker writes tail.
  const std::uint32_t tail = r->tail.load(std::memory_order_relaxed);
  if (tail - r->head_seen == FinishedRing::kSize) {
    // acquire: pairs with collect_finished()'s release; the slots it read are free.
    r->head_seen = r->head.load(std::memory_order_acquire);
    if (tail - r->head_seen == FinishedRing::kSize) return overflow();
  }
  r->slots[tail % FinishedRing::kSize] = static_cast<Node*>(core->reg_node);
  // release: pairs with collect_finished()'s acquire; publishes the slot.
  r->tail.store(tail + 1, std::memory_order_release);
  // The visitor handshake (see the header): a visitor's membarrier() orders the store
  // above before the load below as seen from every thread; without membarrier, a fence.
  if (asymmetric_) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  // acquire: a visitor may be walking the list and reading this core; then it must live
  // until someone inside later releases it.
  if (s.visitor_in.load(std::memory_order_acquire)) {
    deferred_.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic
    return push(s.deferred);
  }
  return true;
}

void record_never_joined(TaskCore* core) noexcept {
  // acq_rel: one recorder wins; the loser reads nothing else.
  if (core->never_joined_noted.exchange(true, std::memory_order_acq_rel)) return;
  try {
    TaskInfo info = TaskRegistry::describe(*core, read_stamp_clock());
    info.state = "finished";
    info.never_joined = true;
    NeverJoinedLog& log = never_joined_log();
    std::lock_guard lock(log.mu);
    if (log.entries.size() < kMaxNeverJoined) log.entries.emplace_back(core->runtime_id, info);
  } catch (...) {
    // Out of memory while recording a diagnostic: drop the record, keep the program going.
  }
}

void note_dropped_handle(TaskCore* core) noexcept {
  // The handle's side of the handshake (see the header).
  if (core->finished_seq_cst()) record_never_joined(core);
}

void TaskRegistry::set_name(TaskCore* core, std::string_view name, std::size_t worker) {
  auto copy = std::make_unique<std::string>(name);  // allocate outside the shard
  Shard& s = shards_[core->reg_shard];
  if (has_owner(s) && worker == core->reg_shard) {
    owner_enter(s);
    core->name.swap(copy);
    owner_leave(s);
    return;
  }
  std::lock_guard lock(s.visitors);
  visit(s);
  core->name.swap(copy);
  leave_visit(s);
}

TaskInfo TaskRegistry::describe_live(const TaskCore& core) {
  Shard& s = shards_[core.reg_shard];
  const StampReading now = read_stamp_clock();
  std::lock_guard lock(s.visitors);
  visit(s);
  TaskInfo info = describe(core, now);
  leave_visit(s);
  return info;
}

TaskInfo TaskRegistry::describe(const TaskCore& core, const StampReading& now, TaskScan* scan) {
  TaskInfo info;
  info.id = core.id;
  info.file = core.spawn_site().file_name();
  info.line = core.spawn_site().line();
  info.function = core.spawn_site().function_name();
  if (core.name) info.name = *core.name;
  info.parent_id = core.parent_id;
  // relaxed: a snapshot for diagnostics; each field is read atomically on its own.
  auto hs = core.handle_state.load(std::memory_order_relaxed);
  info.never_joined = hs == TaskCore::HandleState::dropped;
  info.detached = hs == TaskCore::HandleState::detached;
  info.age = std::chrono::nanoseconds(now.ns_since(core.spawned_at));
  // acquire: pairs with start_fiber()'s release; the fiber record is initialised.
  const Fiber* f = core.fiber.load(std::memory_order_acquire);
  if (f == nullptr) {
    info.state = "runnable";
    return info;
  }
  // acquire: pairs with the worker's release store of kParked, which follows the parking
  // fiber's describe() stores: a parked reading sees that park's wait fields.
  switch (f->run_state.load(std::memory_order_acquire)) {
    case Fiber::kRunning:
      info.state = "running";
      break;
    case Fiber::kParked: {
      // relaxed: written by the fiber before it parked (ordered by the acquire above).
      const WaitKind kind = f->wait_kind.load(std::memory_order_relaxed);
      const void* object = f->wait_object.load(std::memory_order_relaxed);  // relaxed: as above
      info.state = to_string(kind);
      // The park's coarse stamp may precede the spawn's exact one by up to a tick.
      info.in_state = std::min(info.age, std::chrono::nanoseconds(now.ns_since(f->parked_at.load(
                                             std::memory_order_relaxed))));  // relaxed: as above
      if (object != forever_object()) info.blocked_on = reinterpret_cast<std::uintptr_t>(object);
      if (scan != nullptr) {
        scan->parked = true;
        scan->wait_kind = kind;
        scan->wait_object = object;
        scan->park_seq = f->park_seq.load(std::memory_order_relaxed);  // relaxed: as above
      }
      break;
    }
    default:
      info.state = "runnable";
      break;
  }
  return info;
}

std::vector<TaskScan> TaskRegistry::scan(const TaskCore* exclude,
                                         const FrameRequest* frames) const {
  std::vector<TaskScan> out;
  const StampReading now = read_stamp_clock();
  std::size_t frames_left = frames != nullptr ? frames->max_tasks : 0;
  for_each_shard_visited([&](const Shard& s) {
    for (const Node* n = s.tasks.front(); n != nullptr; n = NodeList::next(*n)) {
      const TaskCore* c = n->core;
      // acquire: pairs with finish()'s release; a task marked gone has finished.
      if (c == exclude || c->reg_gone.load(std::memory_order_acquire)) continue;
      TaskScan& t = out.emplace_back();
      t.core = c;
      t.info = describe(*c, now, &t);
      if (!t.parked || frames_left == 0) continue;
      if (frames->filter != nullptr &&
          (frames->filter->baseline.excludes(t.info) || frames->filter->ignores(t.info))) {
        continue;
      }
      // acquire: pairs with start_fiber()'s release, as in describe().
      if (const Fiber* f = c->fiber.load(std::memory_order_acquire); f != nullptr) {
        t.frames = parked_frames(*f);
        --frames_left;
      }
    }
  });
  std::sort(out.begin(), out.end(),
            [](const TaskScan& a, const TaskScan& b) { return a.info.id < b.info.id; });
  // Name the joined task where it is alive in this scan (addresses compared, never followed).
  for (TaskScan& t : out) {
    if (t.wait_kind != WaitKind::join || t.wait_object == nullptr) continue;
    for (const TaskScan& other : out) {
      if (other.core == t.wait_object) {
        t.info.blocked_on_task = other.info.id;
        break;
      }
    }
  }
  return out;
}

std::vector<TaskInfo> TaskRegistry::never_joined() const {
  std::vector<TaskInfo> out;
  NeverJoinedLog& log = never_joined_log();
  std::lock_guard lock(log.mu);
  for (const auto& [rt, info] : log.entries) {
    if (rt == runtime_id_) out.push_back(info);
  }
  return out;
}

std::vector<TaskInfo> TaskRegistry::snapshot(const TaskCore* exclude, bool with_never_joined,
                                             const FrameRequest* frames) const {
  std::vector<TaskInfo> out;
  for (TaskScan& t : scan(exclude, frames)) {
    if (!t.frames.empty()) t.info.frames = describe_frames(t.frames);
    out.push_back(std::move(t.info));
  }
  if (with_never_joined) {
    std::vector<TaskInfo> finished = never_joined();
    out.insert(out.end(), std::make_move_iterator(finished.begin()),
               std::make_move_iterator(finished.end()));
  }
  return out;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

void publish_teardown_leaks(const std::vector<TaskInfo>& leaked) noexcept {
  try {
    TeardownLog& log = teardown_log();
    std::lock_guard lock(log.mu);
    for (const TaskInfo& t : leaked) {
      if (log.entries.size() >= kMaxNeverJoined) break;
      log.entries.push_back(t);
    }
  } catch (...) {
    // Diagnostics only.
  }
}

LeakReport collect_leaks_since(std::uint64_t min_task_id, const LeakOptions& options) {
  options.validate();
  LeakOptions scoped = options;
  if (scoped.baseline.first_checked_id() < min_task_id) {
    scoped.baseline = LeakBaseline::since_id(min_task_id);
  }
  std::vector<TaskInfo> out;
  for_each_scheduler([&](Scheduler& s) {
    LeakReport report = s.leaks(scoped.wait.value_or(s.options().leak_check_wait), &scoped);
    out.insert(out.end(), report.begin(), report.end());
  });
  {
    TeardownLog& log = teardown_log();
    std::lock_guard lock(log.mu);
    for (const TaskInfo& t : log.entries) {
      if (!scoped.baseline.excludes(t) && !scoped.ignores(t)) out.push_back(t);
    }
  }
  return LeakReport(std::move(out));
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
