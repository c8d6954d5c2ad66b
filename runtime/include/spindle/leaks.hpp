// SPDX-License-Identifier: Apache-2.0
/// @file
/// What the leak detector reports and how to narrow it: spindle::TaskInfo, spindle::LeakReport,
/// spindle::LeakError, spindle::LeakBaseline, spindle::LeakOptions, spindle::PartialDeadlock.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A snapshot of one task, as returned by Runtime::tasks() and in leak reports.
struct TaskInfo {
  std::uint64_t id = 0;    ///< Unique within the process, in spawn order.
  std::string file;        ///< Spawn site: source file.
  std::uint32_t line = 0;  ///< Spawn site: line.
  std::string function;    ///< Spawn site: enclosing function.
  /// "running", "runnable", or what it is blocked on: "chan recv", "chan send", "select",
  /// "sleep", "join", "mutex", "waitgroup", "context", "blocked"; "finished" for a finished
  /// task that was never joined.
  std::string state;
  bool never_joined = false;        ///< Its Task handle was destroyed without join() or detach().
  bool detached = false;            ///< Its Task handle was detached.
  std::chrono::nanoseconds age{0};  ///< Time since it was spawned.
  /// Time in its current state (blocked states). Read from a clock that ticks about every
  /// millisecond: never less than the true time, at most about a millisecond more.
  std::chrono::nanoseconds in_state{0};
  std::string name;  ///< Set by spawn(TaskName{...}, fn) or set_task_name(); may be empty.
  std::uint64_t parent_id = 0;  ///< Id of the task that spawned it; 0 when a plain thread did.
  /// Identity (address) of what a blocked task waits on: the channel, mutex, wait group or
  /// task; 0 when running, runnable, sleeping, or unknown. Equal values mean the same object.
  std::uintptr_t blocked_on = 0;
  /// For state "join": the id of the joined task, when it is still alive; else 0.
  std::uint64_t blocked_on_task = 0;
  /// Where a parked task is blocked, innermost first, each "function+0xoffset": its stack as
  /// its last context switch left it, without the runtime's own frames, so the first is the
  /// code that called the blocking operation; at most 8. Filled in by leak reports
  /// (Runtime::leaks, testing::LeakCheck, ~Runtime's report), Deadlock and Runtime::dump for
  /// up to 64 tasks each; empty for tasks that are not parked, in Runtime::tasks(), and off
  /// x86-64.
  std::vector<std::string> frames;

  /// One line: `task 12 "fetch" [chan recv 1.5s, on 0x5581c0a0] never joined, spawned at
  /// file.cpp:42 (fn) by task 3`; the name, object and parent appear only when known.
  std::string to_string() const;
};

/// The tasks a leak check found: alive ones (other than the caller) and finished ones that
/// were never joined.
///
/// @code
/// spindle::LeakReport leaks = rt.leaks();
/// if (!leaks.empty()) std::cerr << leaks.to_string();
/// @endcode
class LeakReport {
 public:
  /// A report of nothing leaked.
  LeakReport() = default;
  /// A report listing `tasks`, in the order given.
  explicit LeakReport(std::vector<TaskInfo> tasks) : tasks_(std::move(tasks)) {}

  /// True when nothing leaked.
  bool empty() const noexcept { return tasks_.empty(); }
  /// How many tasks leaked.
  std::size_t size() const noexcept { return tasks_.size(); }
  /// The leaked tasks.
  const std::vector<TaskInfo>& tasks() const noexcept { return tasks_; }
  /// Iterator to the first leaked task, for range-for over the report.
  auto begin() const noexcept { return tasks_.begin(); }
  /// Iterator past the last leaked task.
  auto end() const noexcept { return tasks_.end(); }
  /// One line per task (TaskInfo::to_string), each followed by its frames, one per line
  /// (`    at function+0x2c`); an empty string when nothing leaked.
  std::string to_string() const;

 private:
  std::vector<TaskInfo> tasks_;
};

/// Tasks that existed at one moment, to exclude from later leak checks: like goleak's
/// IgnoreCurrent, tasks alive when a scope began are not leaks of that scope.
///
/// @code
/// auto base = spindle::LeakBaseline::now();          // before the code under test
/// run_code_under_test(rt);
/// rt.verify_no_leaks(spindle::LeakOptions{.baseline = base});
/// @endcode
class LeakBaseline {
 public:
  /// Excludes nothing.
  LeakBaseline() noexcept = default;
  /// Excludes every task spawned so far, in any runtime; tasks spawned later are checked.
  static LeakBaseline now() noexcept;
  /// Excludes tasks with ids below `first_checked_id` (ids grow in spawn order).
  static LeakBaseline since_id(std::uint64_t first_checked_id) noexcept {
    return LeakBaseline(first_checked_id);
  }
  /// True when `t` existed before the baseline was taken.
  bool excludes(const TaskInfo& t) const noexcept { return t.id < first_checked_id_; }
  /// Ids from this one on are checked.
  std::uint64_t first_checked_id() const noexcept { return first_checked_id_; }

 private:
  explicit LeakBaseline(std::uint64_t first) noexcept : first_checked_id_(first) {}
  std::uint64_t first_checked_id_ = 0;
};

/// What a leak check leaves out, for Runtime::leaks(const LeakOptions&),
/// Runtime::verify_no_leaks(const LeakOptions&) and testing::LeakCheck.
///
/// @code
/// spindle::LeakOptions opts{.baseline = spindle::LeakBaseline::now(),
///                           .ignore_functions = {"start_metrics_reporter"},
///                           .ignore_files = {"third_party/pool.cpp"}};
/// rt.verify_no_leaks(opts);
/// @endcode
struct LeakOptions {
  /// Tasks spawned before the baseline are not reported.
  LeakBaseline baseline{};
  /// Tasks whose spawn-site function contains one of these as a whole name (`"serve"`
  /// matches `void app::serve(int)` and `app::serve()::<lambda()>`, not `serve_all`;
  /// `"app::serve"` narrows it) are not reported.
  std::vector<std::string> ignore_functions{};
  /// Tasks spawned in one of these files are not reported: the spawn file's path equals the
  /// entry or ends with `/` followed by it (`"pool.cpp"`, `"src/pool.cpp"`).
  std::vector<std::string> ignore_files{};
  /// Overrides Options::leak_check_wait: how long to wait for tasks still winding down.
  std::optional<std::chrono::nanoseconds> wait{};
  /// Tasks with one of these ids (TaskInfo::id, Task::id()) are not reported: tasks a test
  /// leaves behind on purpose, named one by one so that any other leak is still found.
  std::vector<std::uint64_t> ignore_tasks{};

  /// True when a rule above leaves `t` out.
  /// @throws std::invalid_argument if a pattern is empty (it would match nothing or
  /// everything; say which tasks instead).
  bool ignores(const TaskInfo& t) const;
  /// Throws std::invalid_argument, naming the field, for rules that cannot work (empty
  /// patterns, a negative wait).
  void validate() const;
};

/// A set of tasks that is provably blocked for good while the rest of the runtime may still
/// run (Go only reports the whole program asleep). See Runtime::partial_deadlocks() for what
/// is proven and what is not.
struct PartialDeadlock {
  /// Why nothing can wake them: "join cycle", "blocked forever on a nil channel or an empty
  /// select", or either followed by "; joined by tasks waiting on it".
  std::string reason;
  /// The tasks, in spawn order.
  std::vector<TaskInfo> tasks;
  /// `deadlocked (join cycle):` then one indented TaskInfo line per task.
  std::string to_string() const;
};

/// Thrown by Runtime::verify_no_leaks(); what() is the report's text.
class LeakError : public std::runtime_error {
 public:
  /// Wraps `report`; what() is "spindle: leaked tasks:" followed by its text.
  explicit LeakError(LeakReport report)
      : std::runtime_error(std::string("spindle: leaked tasks:\n").append(report.to_string())),
        report_(std::move(report)) {}
  /// The tasks that leaked.
  const LeakReport& report() const noexcept { return report_; }

 private:
  LeakReport report_;
};

/// Thrown by Runtime::block_on when every task of the runtime has stayed blocked for
/// Options::deadlock_after with no timer pending and no outside thread inside a spindle call,
/// like Go's "all goroutines are asleep". what() lists every task and what it waits on.
class Deadlock : public std::runtime_error {
 public:
  /// The deadlock Runtime::block_on detects: every task in `tasks` has been blocked for
  /// `after`; the message states that time in milliseconds, then lists the tasks.
  Deadlock(LeakReport tasks, std::chrono::nanoseconds after)
      : std::runtime_error(
            std::string("spindle: deadlock: all tasks have been blocked for ")
                .append(std::to_string(
                    std::chrono::duration_cast<std::chrono::milliseconds>(after).count()))
                .append(" ms with no timer pending and no outside thread in a spindle call:\n")
                .append(tasks.to_string())),
        tasks_(std::move(tasks)) {}
  /// A deadlock found some other way (a simulation knows at once): `headline` starts the
  /// message, the task list follows.
  Deadlock(LeakReport tasks, const std::string& headline)
      : std::runtime_error(std::string(headline).append(":\n").append(tasks.to_string())),
        tasks_(std::move(tasks)) {}
  /// The tasks of the runtime at the time, each with its state.
  const LeakReport& tasks() const noexcept { return tasks_; }

 private:
  LeakReport tasks_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
