// SPDX-License-Identifier: Apache-2.0
#include "runtime/sim_core.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "runtime/fiber.hpp"
#include "runtime/overflow_handler.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/stack.hpp"
#include "runtime/worker.hpp"
#include "spindle/detail/task_core.hpp"
#include "spindle/detail/thread_random.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

thread_local constinit SimCore* t_current_sim = nullptr;

namespace {

// Virtual time starts here for every seed, far enough from zero that a deadline computed as
// "now - 1h" stays positive.
constexpr std::int64_t kVirtualEpochNs = std::int64_t{1'000'000} * 1'000'000'000;

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  state += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string format_virtual(std::int64_t ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "+%" PRId64 ".%06" PRId64 "s", ns / 1'000'000'000,
                (ns % 1'000'000'000) / 1000);
  return buf;
}

testing::SimOptions validated(testing::SimOptions o) {
  if (o.pct_depth == 0) {
    throw std::invalid_argument("spindle::testing::Simulation: SimOptions::pct_depth must be >= 1");
  }
  if (o.pct_steps == 0) {
    throw std::invalid_argument("spindle::testing::Simulation: SimOptions::pct_steps must be >= 1");
  }
  if (o.stack_size < kMinStackSize) {
    throw std::invalid_argument(
        "spindle::testing::Simulation: SimOptions::stack_size = " + std::to_string(o.stack_size) +
        " bytes is below the minimum of " + std::to_string(kMinStackSize) + " bytes");
  }
  return o;
}

}  // namespace

SimScope::SimScope(SimCore& sim) noexcept : prev_(t_current_sim) {
  t_current_sim = &sim;
  t_random_state = 0;  // draws go through the simulation's seed while it runs
}
SimScope::~SimScope() { t_current_sim = prev_; }

SimCore* SimCore::current() noexcept { return t_current_sim; }

SimCore::SimCore(const testing::SimOptions& options)
    : options_(validated(options)),
      rng_state_(options.seed),
      now_ns_(kVirtualEpochNs),
      start_ns_(kVirtualEpochNs) {
  if (options_.schedule == testing::Schedule::pct) {
    for (unsigned i = 1; i < options_.pct_depth; ++i) {
      change_points_.push_back(random(options_.pct_steps));
    }
    std::sort(change_points_.begin(), change_points_.end());
  }
  Options o;
  o.workers = 1;
  o.stack_size = options_.stack_size;
  o.on_leak = LeakPolicy::ignore;  // teardown() applies SimOptions::on_leak itself
  o.deadlock_after = std::chrono::nanoseconds(0);
  o.leak_check_wait = std::chrono::nanoseconds(0);  // waiting cannot help: time stands still
  sched_ = std::make_unique<Scheduler>(o, this);
  worker_ = sched_->workers().front().get();
}

SimCore::~SimCore() { teardown(); }

std::uint64_t SimCore::random(std::uint64_t bound) noexcept {
  // Modulo bias is below 2^-40 for the bounds a scheduler sees; determinism is what matters.
  return splitmix64(rng_state_) % bound;
}

TaskCore* SimCore::core_of(Fiber* item) noexcept {
  return is_unstarted(item) ? unstarted_task(item) : item->task;
}

SimCore::TaskState& SimCore::state_of(TaskCore* core) {
  auto [it, fresh] = tasks_.try_emplace(core);
  if (fresh) {
    it->second.ordinal = next_ordinal_++;
    // Initial PCT priorities sit above every change-point priority (0 .. depth-2).
    it->second.priority = static_cast<std::int64_t>(options_.pct_depth) +
                          static_cast<std::int64_t>(random(std::uint64_t{1} << 40));
    if (options_.trace) {
      std::string site = core->spawn_site().file_name();
      site.append(":").append(std::to_string(core->spawn_site().line()));
      record(testing::SimEvent::Kind::spawn, core, std::move(site));
    }
  }
  return it->second;
}

void SimCore::record(testing::SimEvent::Kind kind, TaskCore* core, std::string detail) {
  if (!options_.trace) return;
  testing::SimEvent e;
  e.at = std::chrono::nanoseconds(now_ns_ - start_ns_);
  e.kind = kind;
  if (core != nullptr) {
    auto it = tasks_.find(core);
    e.task = it != tasks_.end() ? it->second.ordinal : 0;
  }
  e.detail = std::move(detail);
  if (options_.trace_limit != 0 && trace_.size() >= 2 * options_.trace_limit) {
    trace_.erase(trace_.begin(), trace_.begin() + static_cast<std::ptrdiff_t>(
                                                      trace_.size() - options_.trace_limit));
  }
  trace_.push_back(std::move(e));
}

void SimCore::make_ready(Fiber* item) {
  (void)state_of(core_of(item));
  ready_.push_back(item);
}

void SimCore::enqueue_from_outside(Fiber* item) {
  if (t_current_sim != this) die_at_simulation_boundary(true);
  make_ready(item);
}

void die_at_simulation_boundary(bool into_simulation) noexcept {
  if (into_simulation) {
    std::fputs(
        "spindle: fatal error: a thread outside a testing::Simulation woke one of its tasks (a "
        "plain thread or another runtime used a channel, mutex or task handle shared with a "
        "simulated task); a simulation can only be driven by its own tasks, or its runs would "
        "not replay\n",
        stderr);
  } else {
    std::fputs(
        "spindle: fatal error: a task of a testing::Simulation woke a plain thread or a task of "
        "another runtime through a channel or sync object they share; a simulation's tasks may "
        "only interact with each other, or its runs would not replay\n",
        stderr);
  }
  std::abort();
}

std::size_t SimCore::pick_index() {
  const std::size_t n = ready_.size();
  switch (options_.schedule) {
    case testing::Schedule::fifo:
      return 0;
    case testing::Schedule::lifo:
      return n - 1;
    case testing::Schedule::random:
      return static_cast<std::size_t>(random(n));
    case testing::Schedule::pct: {
      if (changes_done_ < change_points_.size() && steps_ >= change_points_[changes_done_]) {
        if (auto it = tasks_.find(last_picked_); it != tasks_.end()) {
          it->second.priority = static_cast<std::int64_t>(options_.pct_depth) - 2 -
                                static_cast<std::int64_t>(changes_done_);
        }
        ++changes_done_;
      }
      std::size_t best = 0;
      std::int64_t best_priority = tasks_[core_of(ready_[0])].priority;
      for (std::size_t i = 1; i < n; ++i) {
        const std::int64_t p = tasks_[core_of(ready_[i])].priority;
        if (p > best_priority) {
          best = i;
          best_priority = p;
        }
      }
      return best;
    }
  }
  return 0;
}

bool SimCore::advance_clock() {
  const std::int64_t next = sched_->timers().next_deadline_ns();
  if (next == TimerHeap::kNever) return false;
  if (next > now_ns_) {
    now_ns_ = next;
    record(testing::SimEvent::Kind::advance, nullptr);
  }
  sched_->timers().run_due(TimePoint(Clock::duration(now_ns_)));
  return true;
}

Fiber* SimCore::next() {
  for (;;) {
    if (options_.max_steps != 0 && ++steps_ > options_.max_steps) {
      throw std::runtime_error(
          "spindle::testing::Simulation: gave up after SimOptions::max_steps = " +
          std::to_string(options_.max_steps) + " scheduling steps " + where() +
          " (tasks that never block, or a timer that keeps firing while the "
          "tasks never finish)");
    }
    if (sched_->timers().next_deadline_ns() <= now_ns_) {
      sched_->timers().run_due(TimePoint(Clock::duration(now_ns_)));
    }
    if (!ready_.empty()) {
      const std::size_t i = pick_index();
      Fiber* item = ready_[i];
      if (options_.schedule == testing::Schedule::random) {
        ready_[i] = ready_.back();  // order is irrelevant to a uniform pick
        ready_.pop_back();
      } else {
        ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(i));
      }
      last_picked_ = core_of(item);
      record(testing::SimEvent::Kind::run, last_picked_);
      return item;
    }
    if (!may_advance_ || !advance_clock()) return nullptr;
  }
}

void SimCore::on_park(Fiber* f) {
  // relaxed: written by this same thread just before the switch.
  record(testing::SimEvent::Kind::park, f->task,
         to_string(f->wait_kind.load(std::memory_order_relaxed)));
}

void SimCore::on_yield(Fiber* f) { record(testing::SimEvent::Kind::yield, f->task); }

void SimCore::on_exit(Fiber* f) {
  record(testing::SimEvent::Kind::exit, f->task);
  tasks_.erase(f->task);  // the core may be freed now; its address can come back
}

std::string SimCore::where() const {
  return "at virtual time " + format_virtual(now_ns_ - start_ns_) + " (seed " +
         std::to_string(options_.seed) + ", schedule " + to_string(options_.schedule) + ")";
}

void SimCore::drive(const std::function<bool()>& stop, bool advance_time) {
  may_advance_ = advance_time;
  worker_->run_simulated(stop);
}

void SimCore::run(const std::function<void()>& root, const spindle::source_location& site) {
  if (current_fiber() != nullptr) {
    throw std::logic_error(
        "spindle::testing::Simulation::run called from inside a task; call it from a plain "
        "thread (a test body)");
  }
  if (running_ || t_current_sim != nullptr) {
    throw std::logic_error(
        "spindle::testing::Simulation::run called while a simulation is already running on "
        "this thread");
  }
  running_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{running_};
  SimScope scope(*this);
  AltSignalStack alt_stack;
  Task<void> root_task = spawn_on(sched_.get(), root, site);
  try {
    drive([&root_task] { return root_task.done(); }, true);
    if (!root_task.done()) {
      const FrameRequest frames;
      LeakReport blocked(sched_->registry().snapshot(nullptr, false, &frames));
      throw Deadlock(std::move(blocked), "spindle: deadlock in simulation " + where() +
                                             ": every task is blocked and no timer is pending");
    }
    drive([] { return false; }, false);
  } catch (...) {
    root_task.detach();  // still blocked: teardown unwinds it
    throw;
  }
  root_task.join();
}

void SimCore::teardown() noexcept {
  SimScope scope(*this);
  AltSignalStack alt_stack;
  try {
    drive([] { return false; }, false);
  } catch (...) {
    // max_steps while letting runnable tasks settle: unwinding below still stops them.
  }
  std::vector<TaskInfo> leaked;
  try {
    leaked = sched_->registry().snapshot(nullptr, true);
  } catch (...) {
  }
  if (!leaked.empty() && options_.on_leak != LeakPolicy::ignore) {
    publish_teardown_leaks(leaked);
    LeakReport report(std::move(leaked));
    std::fprintf(stderr,
                 "spindle: ~Simulation (seed %" PRIu64 "): %zu leaked task(s); unwinding them:\n%s",
                 options_.seed, report.size(), report.to_string().c_str());
    if (options_.on_leak == LeakPolicy::abort) {
      std::fputs("spindle: aborting (SimOptions::on_leak = LeakPolicy::abort)\n", stderr);
      std::abort();
    }
  }
  // Unwind what is left: resume every parked task with the runtime marked as shutting down,
  // so each blocking call throws ForcedUnwind; tasks never started fail the same way.
  sched_->shutting_down_.store(true, std::memory_order_release);  // release: as in unwind_all()
  options_.max_steps = 0;
  std::int64_t last = -1;
  for (;;) {
    // Runnable tasks unwind at their next yield or park.
    drive([] { return false; }, false);
    const std::int64_t live = sched_->live_tasks();
    if (live == 0) break;
    if (live == last) {
      std::fprintf(stderr,
                   "spindle: ~Simulation: %lld task(s) could not be unwound (a task that blocks "
                   "inside a destructor during teardown)\n",
                   static_cast<long long>(live));
      std::abort();
    }
    last = live;
    // Newest first, one at a time: a task usually borrows from the one that spawned it (a
    // mutex or channel on its parent's stack), so children must unwind before parents.
    std::vector<std::pair<std::uint64_t, Fiber*>> parked;
    for (Fiber* f : sched_->all_fibers_) {
      // relaxed: only this thread runs the simulation's fibers.
      if (f->run_state.load(std::memory_order_relaxed) == Fiber::kParked && f->task != nullptr) {
        parked.emplace_back(f->task->id, f);
      }
    }
    std::sort(parked.begin(), parked.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& entry : parked) {
      if (Scheduler::claim_parked(entry.second)) make_ready(entry.second);
      drive([] { return false; }, false);
    }
  }
}

std::string SimCore::trace_text() const {
  std::string out;
  std::size_t first = 0;
  if (options_.trace_limit != 0 && trace_.size() > options_.trace_limit) {
    first = trace_.size() - options_.trace_limit;
    out.append("(").append(std::to_string(first)).append(" earlier events not kept)\n");
  }
  for (std::size_t i = first; i < trace_.size(); ++i)
    out.append(trace_[i].to_string()).append("\n");
  return out;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
