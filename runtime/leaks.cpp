// SPDX-License-Identifier: Apache-2.0
#include "spindle/leaks.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <stdexcept>

#include "runtime/partial_deadlock.hpp"
#include "runtime/scheduler.hpp"
#include "spindle/runtime.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {
namespace {

std::string format_duration(std::chrono::nanoseconds d) {
  char buf[32];
  double ms = std::chrono::duration<double, std::milli>(d).count();
  if (ms >= 1000.0) {
    std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fms", ms);
  }
  return buf;
}

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// `pattern` occurs in `text` as a whole name: not inside a longer identifier.
bool contains_name(std::string_view text, std::string_view pattern) {
  for (std::size_t at = text.find(pattern); at != std::string_view::npos;
       at = text.find(pattern, at + 1)) {
    const std::size_t end = at + pattern.size();
    const bool starts =
        at == 0 || !is_identifier_char(text[at - 1]) || !is_identifier_char(pattern.front());
    const bool ends =
        end == text.size() || !is_identifier_char(text[end]) || !is_identifier_char(pattern.back());
    if (starts && ends) return true;
  }
  return false;
}

// `path` is `file` or ends with "/" + `file`.
bool same_file(std::string_view path, std::string_view file) {
  if (path == file) return true;
  return path.size() > file.size() && path.ends_with(file) &&
         path[path.size() - file.size() - 1] == '/';
}

}  // namespace

std::string TaskInfo::to_string() const {
  // Appends rather than operator+ chains: GCC 12 at -O3 warns (-Wrestrict) on those.
  std::string out;
  out.append("task ").append(std::to_string(id));
  if (!name.empty()) out.append(" \"").append(name).append("\"");
  out.append(" [").append(state);
  if (in_state.count() > 0) out.append(" ").append(format_duration(in_state));
  if (blocked_on_task != 0) {
    out.append(", on task ").append(std::to_string(blocked_on_task));
  } else if (blocked_on != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ", on %#llx", static_cast<unsigned long long>(blocked_on));
    out.append(buf);
  }
  out.append("]");
  if (never_joined) out.append(" never joined,");
  out.append(" spawned at ").append(file).append(":").append(std::to_string(line));
  out.append(" (").append(function).append(")");
  if (parent_id != 0) out.append(" by task ").append(std::to_string(parent_id));
  return out;
}

std::string LeakReport::to_string() const {
  std::string out;
  for (const TaskInfo& t : tasks_) {
    out += t.to_string();
    out += '\n';
    for (const std::string& f : t.frames) out.append("    at ").append(f).append("\n");
  }
  return out;
}

LeakBaseline LeakBaseline::now() noexcept { return LeakBaseline(detail::next_task_id()); }

void LeakOptions::validate() const {
  for (const std::string& f : ignore_functions) {
    if (f.empty()) {
      throw std::invalid_argument(
          "spindle::LeakOptions::ignore_functions: an empty pattern names no function");
    }
  }
  for (const std::string& f : ignore_files) {
    if (f.empty()) {
      throw std::invalid_argument(
          "spindle::LeakOptions::ignore_files: an empty pattern names no file");
    }
  }
  if (wait && wait->count() < 0) {
    throw std::invalid_argument("spindle::LeakOptions::wait is negative");
  }
}

bool LeakOptions::ignores(const TaskInfo& t) const {
  if (std::find(ignore_tasks.begin(), ignore_tasks.end(), t.id) != ignore_tasks.end()) return true;
  for (const std::string& f : ignore_functions) {
    if (f.empty()) validate();
    if (contains_name(t.function, f)) return true;
  }
  for (const std::string& f : ignore_files) {
    if (f.empty()) validate();
    if (same_file(t.file, f)) return true;
  }
  return false;
}

std::string PartialDeadlock::to_string() const {
  std::string out;
  out.append("deadlocked (").append(reason).append("):\n");
  for (const TaskInfo& t : tasks) out.append("  ").append(t.to_string()).append("\n");
  return out;
}

std::vector<TaskInfo> Runtime::tasks() const { return sched_->registry().snapshot(nullptr, false); }

LeakReport Runtime::leaks() const { return sched_->leaks(sched_->options().leak_check_wait); }

void Runtime::verify_no_leaks() const {
  LeakReport report = leaks();
  if (!report.empty()) throw LeakError(std::move(report));
}

LeakReport Runtime::leaks(const LeakOptions& options) const {
  options.validate();
  return sched_->leaks(options.wait.value_or(sched_->options().leak_check_wait), &options);
}

void Runtime::verify_no_leaks(const LeakOptions& options) const {
  LeakReport report = leaks(options);
  if (!report.empty()) throw LeakError(std::move(report));
}

std::vector<PartialDeadlock> Runtime::partial_deadlocks() const {
  return detail::find_partial_deadlocks(sched_->registry());
}

void Runtime::dump(std::ostream& out) const { sched_->dump(out); }

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
