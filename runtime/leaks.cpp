#include "spindle/leaks.hpp"

#include <cstdio>

#include "runtime/scheduler.hpp"
#include "spindle/runtime.hpp"

namespace spindle {
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

}  // namespace

std::string TaskInfo::to_string() const {
  // Appends rather than operator+ chains: GCC 12 at -O3 warns (-Wrestrict) on those.
  std::string out;
  out.append("task ").append(std::to_string(id)).append(" [").append(state);
  if (in_state.count() > 0) out.append(" ").append(format_duration(in_state));
  out.append("]");
  if (never_joined) out.append(" never joined,");
  out.append(" spawned at ").append(file).append(":").append(std::to_string(line));
  out.append(" (").append(function).append(")");
  return out;
}

std::string LeakReport::to_string() const {
  std::string out;
  for (const TaskInfo& t : tasks_) {
    out += t.to_string();
    out += '\n';
  }
  return out;
}

std::vector<TaskInfo> Runtime::tasks() const { return sched_->registry().snapshot(nullptr, false); }

LeakReport Runtime::leaks() const { return sched_->leaks(sched_->options().leak_check_wait); }

void Runtime::verify_no_leaks() const {
  LeakReport report = leaks();
  if (!report.empty()) throw LeakError(std::move(report));
}

}  // namespace spindle
