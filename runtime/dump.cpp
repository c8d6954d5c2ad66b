// SPDX-License-Identifier: Apache-2.0
// Runtime::dump(): every task of a runtime, like Go's SIGQUIT goroutine dump.
#include <ostream>

#include "runtime/parked_frames.hpp"
#include "runtime/partial_deadlock.hpp"
#include "runtime/scheduler.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

void print_age(std::ostream& out, std::chrono::nanoseconds age) {
  out << "    age " << std::chrono::duration_cast<std::chrono::milliseconds>(age).count()
      << " ms\n";
}

}  // namespace

void Scheduler::dump(std::ostream& out) const {
  const FrameRequest frames;
  const std::vector<TaskScan> live = registry_.scan(nullptr, &frames);
  const std::vector<TaskInfo> finished = registry_.never_joined();
  const std::vector<PartialDeadlock> stuck = find_partial_deadlocks(registry_);
  out << "spindle runtime " << id_ << ": " << live.size() << " live task(s)\n"
      << diagnostics() << "\n\n";
  for (const TaskScan& t : live) {
    out << t.info.to_string() << "\n";
    print_age(out, t.info.age);
    for (const std::string& f : describe_frames(t.frames)) out << "    at " << f << "\n";
  }
  if (!finished.empty()) {
    out << "\nfinished, never joined:\n";
    for (const TaskInfo& t : finished) out << t.to_string() << "\n";
  }
  if (!stuck.empty()) {
    out << "\npartial deadlocks:\n";
    for (const PartialDeadlock& d : stuck) out << d.to_string();
  }
  out << "\n";
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
