#include "runtime/task_registry.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "runtime/coarse_clock.hpp"
#include "runtime/fiber.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/tracking.hpp"

namespace spindle::detail {
namespace {

constexpr std::size_t kMaxNeverJoined = 10'000;
constexpr std::uint32_t kSweepEvery = 64;  // spawns between an owner's sweeps

std::int64_t now_ns() { return coarse_now_ns(); }

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
      runtime_id_(runtime_id) {}

TaskRegistry::~TaskRegistry() {
  // Every task has finished; some may still wait in a departed stack for their unlink.
  for (Shard& s : shards_) release_departed(unlink_departed(s));
  NeverJoinedLog& log = never_joined_log();
  std::lock_guard lock(log.mu);
  std::erase_if(log.entries, [&](const auto& e) { return e.first == runtime_id_; });
}

void TaskRegistry::owner_enter(Shard& s) noexcept {
  for (;;) {
    // relaxed + compiler barrier: a visitor's membarrier() orders this store before our
    // load below as seen from every thread; without membarrier, a full fence does.
    s.owner_in.store(true, std::memory_order_relaxed);
    if (asymmetric_) {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    // acquire: pairs with leave_visit()'s release; what the visitor did happens before us.
    if (!s.visitor_in.load(std::memory_order_acquire)) return;
    // release: nothing to publish, but a visitor waiting for us must not stall on it.
    s.owner_in.store(false, std::memory_order_release);
    // acquire: as above.
    while (s.visitor_in.load(std::memory_order_acquire)) std::this_thread::yield();
  }
}

void TaskRegistry::owner_leave(Shard& s) noexcept {
  // release: pairs with visit()'s acquire; our list changes happen before the visit.
  s.owner_in.store(false, std::memory_order_release);
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

void TaskRegistry::unlink(Shard& s, TaskCore* core) noexcept {
  if (core->reg_prev != nullptr) {
    core->reg_prev->reg_next = core->reg_next;
  } else {
    s.head = core->reg_next;
  }
  if (core->reg_next != nullptr) core->reg_next->reg_prev = core->reg_prev;
  core->reg_prev = core->reg_next = nullptr;
}

TaskCore* TaskRegistry::unlink_departed(Shard& s) noexcept {
  // relaxed peek: the stack is nearly always empty, and an exchange is not free.
  if (s.departed.load(std::memory_order_relaxed) == nullptr) return nullptr;
  // acquire: pairs with finish()'s release push; the pushed core's links are ours now.
  TaskCore* list = s.departed.exchange(nullptr, std::memory_order_acquire);
  for (TaskCore* c = list; c != nullptr; c = c->reg_departed_next) unlink(s, c);
  return list;
}

void TaskRegistry::release_departed(TaskCore* list) noexcept {
  while (list != nullptr) {
    TaskCore* next = list->reg_departed_next;
    list->release();  // the reference finish() took for the stack
    list = next;
  }
}

void TaskRegistry::sweep(std::size_t worker) noexcept {
  if constexpr (!kTrackTasks) return;
  Shard& s = shards_[worker];
  // relaxed peek: usually empty.
  if (!has_owner(s) || s.departed.load(std::memory_order_relaxed) == nullptr) return;
  owner_enter(s);
  TaskCore* departed = unlink_departed(s);
  owner_leave(s);
  release_departed(departed);
}

template <class F>
void TaskRegistry::for_each_shard_visited(F&& f) const {
  // One membarrier per owned shard; visits are rare (scans, dumps, leak checks).
  for (Shard& s : shards_) {
    TaskCore* departed = nullptr;
    {
      std::lock_guard lock(s.visitors);
      visit(s);
      departed = unlink_departed(s);
      try {
        f(s);
      } catch (...) {
        leave_visit(s);
        release_departed(departed);
        throw;
      }
      leave_visit(s);
    }
    release_departed(departed);
  }
}

void TaskRegistry::add(TaskCore* core, std::size_t shard) noexcept {
  if constexpr (!kTrackTasks) return;
  Shard& s = shards_[shard];
  core->reg_shard = static_cast<std::uint32_t>(shard);
  TaskCore* departed = nullptr;
  if (has_owner(s)) {
    owner_enter(s);
    // Not every time: the departed stack's line is written by the other workers, and
    // reading it on every spawn would pull it across for each one.
    if (++s.adds % kSweepEvery == 0) departed = unlink_departed(s);
  } else {
    s.visitors.lock();
  }
  core->reg_prev = nullptr;
  core->reg_next = s.head;
  if (s.head != nullptr) s.head->reg_prev = core;
  s.head = core;
  if (has_owner(s)) {
    owner_leave(s);
  } else {
    s.visitors.unlock();
  }
  release_departed(departed);
}

bool TaskRegistry::finish(TaskCore* core, std::size_t worker) noexcept {
  if constexpr (!kTrackTasks) {
    core->finish();
    return true;
  }
  Shard& s = shards_[core->reg_shard];
  const bool owned = has_owner(s);
  const bool local = !owned || worker == core->reg_shard;
  if (!owned) {
    std::lock_guard lock(s.visitors);
    unlink(s, core);
  } else if (local) {
    owner_enter(s);
    unlink(s, core);
    owner_leave(s);
  } else {
    // Another worker's shard: its owner unlinks the task later. Gone, for scans, now.
    // release: pairs with the scan's acquire load.
    core->reg_gone.store(true, std::memory_order_release);
  }
  core->finish();
  // seq_cst: pairs with Task::drop()'s store; finish()'s exchange of the join word is the
  // other half of this side (see the header).
  if (core->handle_state.load(std::memory_order_seq_cst) == TaskCore::HandleState::dropped) {
    record_never_joined(core);
  }
  if (local) return true;
  // Last: once pushed, the owner may unlink and release the core at any moment. The
  // caller's reference goes with it and keeps the core alive until then.
  TaskCore* top = s.departed.load(std::memory_order_relaxed);  // relaxed: the CAS decides
  do {
    core->reg_departed_next = top;
    // release: publishes reg_departed_next (and the core) to unlink_departed().
  } while (!s.departed.compare_exchange_weak(top, core, std::memory_order_release,
                                             std::memory_order_relaxed));
  return false;
}

void record_never_joined(TaskCore* core) noexcept {
  // acq_rel: one recorder wins; the loser reads nothing else.
  if (core->never_joined_noted.exchange(true, std::memory_order_acq_rel)) return;
  try {
    TaskInfo info = TaskRegistry::describe(*core, now_ns());
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
  std::string copy(name);  // allocate outside the shard
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

TaskInfo TaskRegistry::describe(const TaskCore& core, std::int64_t now, TaskScan* scan) {
  TaskInfo info;
  info.id = core.id;
  info.file = core.spawn_site.file_name();
  info.line = core.spawn_site.line();
  info.function = core.spawn_site.function_name();
  info.name = core.name;
  info.parent_id = core.parent_id;
  // relaxed: a snapshot for diagnostics; each field is read atomically on its own.
  auto hs = core.handle_state.load(std::memory_order_relaxed);
  info.never_joined = hs == TaskCore::HandleState::dropped;
  info.detached = hs == TaskCore::HandleState::detached;
  info.age = std::chrono::nanoseconds(std::max<std::int64_t>(0, now - core.spawned_ns));
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
      info.in_state = std::chrono::nanoseconds(std::max<std::int64_t>(
          0, now - f->state_since_ns.load(std::memory_order_relaxed)));  // relaxed: as above
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

std::vector<TaskScan> TaskRegistry::scan(const TaskCore* exclude) const {
  std::vector<TaskScan> out;
  const std::int64_t now = now_ns();
  for_each_shard_visited([&](const Shard& s) {
    for (const TaskCore* c = s.head; c != nullptr; c = c->reg_next) {
      // acquire: pairs with finish()'s release; a task marked gone has finished.
      if (c == exclude || c->reg_gone.load(std::memory_order_acquire)) continue;
      TaskScan& t = out.emplace_back();
      t.core = c;
      t.info = describe(*c, now, &t);
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

std::vector<TaskInfo> TaskRegistry::snapshot(const TaskCore* exclude,
                                             bool with_never_joined) const {
  std::vector<TaskInfo> out;
  for (TaskScan& t : scan(exclude)) out.push_back(std::move(t.info));
  if (with_never_joined) {
    std::vector<TaskInfo> finished = never_joined();
    out.insert(out.end(), std::make_move_iterator(finished.begin()),
               std::make_move_iterator(finished.end()));
  }
  return out;
}

}  // namespace spindle::detail

namespace spindle::detail {

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

}  // namespace spindle::detail
