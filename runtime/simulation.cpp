// SPDX-License-Identifier: Apache-2.0
// The public face of SimCore: spindle::testing::Simulation and its small value types.
#include "spindle/simulation.hpp"

#include <cinttypes>
#include <cstdio>

#include "runtime/scheduler.hpp"
#include "runtime/sim_core.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::testing {

const char* to_string(Schedule schedule) noexcept {
  switch (schedule) {
    case Schedule::random:
      return "random";
    case Schedule::pct:
      return "pct";
    case Schedule::fifo:
      return "fifo";
    case Schedule::lifo:
      return "lifo";
  }
  return "random";
}

std::string SimEvent::to_string() const {
  static constexpr const char* kNames[] = {"spawn", "run", "park", "yield", "exit", "advance"};
  const std::int64_t ns = at.count();
  char head[64];
  std::snprintf(head, sizeof head, "+%" PRId64 ".%09" PRId64 "s ", ns / 1'000'000'000,
                ns % 1'000'000'000);
  std::string out(head);
  if (kind == Kind::advance) {
    out.append("clock advances (every task blocked)");
    return out;
  }
  out.append("task ").append(std::to_string(task)).append(" ");
  out.append(kNames[static_cast<int>(kind)]);
  if (!detail.empty()) out.append(" ").append(detail);
  return out;
}

Simulation::Simulation(SimOptions options) : core_(std::make_unique<detail::SimCore>(options)) {}

Simulation::~Simulation() = default;

void Simulation::run_erased(const std::function<void()>& root,
                            const spindle::source_location& site) {
  core_->run(root, site);
}

TimePoint Simulation::now() const noexcept { return TimePoint(Clock::duration(core_->now_ns())); }

std::chrono::nanoseconds Simulation::elapsed() const noexcept {
  return std::chrono::nanoseconds(core_->now_ns() - core_->start_ns());
}

std::uint64_t Simulation::seed() const noexcept { return core_->options().seed; }

const SimOptions& Simulation::options() const noexcept { return core_->options(); }

std::uint64_t Simulation::steps() const noexcept { return core_->steps(); }

const std::vector<SimEvent>& Simulation::trace() const noexcept { return core_->trace(); }

std::string Simulation::trace_text() const { return core_->trace_text(); }

std::vector<TaskInfo> Simulation::tasks() const {
  return core_->scheduler().registry().snapshot(nullptr, false);
}

LeakReport Simulation::leaks() const {
  return LeakReport(core_->scheduler().registry().snapshot(nullptr, true));
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::testing
