/// @file
/// What the leak detector reports: spindle::TaskInfo, spindle::LeakReport, spindle::LeakError.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace spindle {

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
  std::chrono::nanoseconds in_state{0};  ///< Time in its current state (blocked states).

  /// One line: `task 12 [chan recv 1.5s] never joined, spawned at file.cpp:42 (fn)`.
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
  LeakReport() = default;
  explicit LeakReport(std::vector<TaskInfo> tasks) : tasks_(std::move(tasks)) {}

  bool empty() const noexcept { return tasks_.empty(); }
  std::size_t size() const noexcept { return tasks_.size(); }
  const std::vector<TaskInfo>& tasks() const noexcept { return tasks_; }
  auto begin() const noexcept { return tasks_.begin(); }
  auto end() const noexcept { return tasks_.end(); }
  /// One line per task (TaskInfo::to_string), or an empty string when nothing leaked.
  std::string to_string() const;

 private:
  std::vector<TaskInfo> tasks_;
};

/// Thrown by Runtime::verify_no_leaks(); what() is the report's text.
class LeakError : public std::runtime_error {
 public:
  explicit LeakError(LeakReport report)
      : std::runtime_error(std::string("spindle: leaked tasks:\n").append(report.to_string())),
        report_(std::move(report)) {}
  const LeakReport& report() const noexcept { return report_; }

 private:
  LeakReport report_;
};

/// Thrown by Runtime::block_on when every task of the runtime has stayed blocked for
/// Options::deadlock_after with no timer pending and no outside thread inside a spindle call,
/// like Go's "all goroutines are asleep". what() lists every task and what it waits on.
class Deadlock : public std::runtime_error {
 public:
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

}  // namespace spindle
