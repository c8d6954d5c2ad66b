#include "runtime/task_registry.hpp"

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

void TaskRegistry::SpinLock::lock() noexcept {
  for (int spins = 0;; ++spins) {
    // acquire: pairs with unlock()'s release; the list is consistent once we hold it.
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    if (spins > 64) std::this_thread::yield();
  }
}

TaskRegistry::TaskRegistry(std::size_t shards, std::uint64_t runtime_id)
    : shards_(shards), runtime_id_(runtime_id) {}

TaskRegistry::~TaskRegistry() {
  NeverJoinedLog& log = never_joined_log();
  std::lock_guard lock(log.mu);
  std::erase_if(log.entries, [&](const auto& e) { return e.first == runtime_id_; });
}

void TaskRegistry::add(TaskCore* core, std::size_t shard) noexcept {
  if constexpr (!kTrackTasks) return;
  Shard& s = shards_[shard];
  core->reg_shard = static_cast<std::uint32_t>(shard);
  std::lock_guard lock(s.lock);
  core->reg_prev = nullptr;
  core->reg_next = s.head;
  if (s.head != nullptr) s.head->reg_prev = core;
  s.head = core;
}

void TaskRegistry::remove(TaskCore* core) noexcept {
  if constexpr (!kTrackTasks) return;
  {
    Shard& s = shards_[core->reg_shard];
    std::lock_guard lock(s.lock);
    if (core->reg_prev != nullptr) {
      core->reg_prev->reg_next = core->reg_next;
    } else {
      s.head = core->reg_next;
    }
    if (core->reg_next != nullptr) core->reg_next->reg_prev = core->reg_prev;
    core->reg_prev = core->reg_next = nullptr;
  }
  core->unregistered.store(true, std::memory_order_seq_cst);
  if (core->handle_state.load(std::memory_order_seq_cst) == TaskCore::HandleState::dropped) {
    record_never_joined(core);
  }
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
  // seq_cst: pairs with remove()'s store of `unregistered` (see the header).
  if (core->unregistered.load(std::memory_order_seq_cst)) record_never_joined(core);
}

void TaskRegistry::set_name(TaskCore* core, std::string_view name) {
  std::string copy(name);  // allocate outside the lock
  Shard& s = shards_[core->reg_shard];
  std::lock_guard lock(s.lock);
  core->name.swap(copy);
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
  // acquire: pairs with the worker's seq_cst store of kParked, which follows the parking
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
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.lock);
    for (const TaskCore* c = s.head; c != nullptr; c = c->reg_next) {
      if (c == exclude) continue;
      TaskScan& t = out.emplace_back();
      t.core = c;
      t.info = describe(*c, now, &t);
    }
  }
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
