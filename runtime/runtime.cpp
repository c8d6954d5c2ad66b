// SPDX-License-Identifier: Apache-2.0
#include "spindle/runtime.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime/scheduler.hpp"
#include "runtime/stack.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {
namespace {

constexpr std::size_t kMaxWorkers = 4096;

std::size_t parse_workers_env() {
  const char* env = std::getenv("SPINDLE_WORKERS");
  if (env == nullptr || *env == '\0') {
    unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : hw;
  }
  std::size_t value = 0;
  const char* end = env + std::strlen(env);
  auto [ptr, ec] = std::from_chars(env, end, value);
  if (ec != std::errc{} || ptr != end || value == 0 || value > kMaxWorkers) {
    throw std::invalid_argument(std::string("spindle::Runtime: SPINDLE_WORKERS='") + env +
                                "' is not a positive number of workers (1.." +
                                std::to_string(kMaxWorkers) + ")");
  }
  return value;
}

std::chrono::nanoseconds parse_stall_report_env() {
  const char* env = std::getenv("SPINDLE_STALL_REPORT");
  if (env == nullptr || *env == '\0') return {};
  std::uint64_t ms = 0;
  const char* end = env + std::strlen(env);
  auto [ptr, ec] = std::from_chars(env, end, ms);
  if (ec != std::errc{} || ptr != end || ms > 3'600'000) {
    throw std::invalid_argument(std::string("spindle::Runtime: SPINDLE_STALL_REPORT='") + env +
                                "' is not a number of milliseconds (0..3600000)");
  }
  return std::chrono::milliseconds(ms);
}

Options validate(Options o) {
  if (o.workers == 0) o.workers = parse_workers_env();
  if (o.stall_report.count() < 0) {
    throw std::invalid_argument("spindle::Runtime: Options::stall_report is negative");
  }
  if (o.stall_report.count() == 0) o.stall_report = parse_stall_report_env();
  if (o.workers > kMaxWorkers) {
    throw std::invalid_argument(
        "spindle::Runtime: Options::workers = " + std::to_string(o.workers) +
        " exceeds the maximum of " + std::to_string(kMaxWorkers));
  }
  if (o.stack_size < detail::kMinStackSize) {
    throw std::invalid_argument(
        "spindle::Runtime: Options::stack_size = " + std::to_string(o.stack_size) +
        " bytes is below the minimum of " + std::to_string(detail::kMinStackSize) + " bytes");
  }
  if (o.stack_size > (std::size_t{1} << 34)) {
    throw std::invalid_argument("spindle::Runtime: Options::stack_size = " +
                                std::to_string(o.stack_size) + " bytes exceeds 16 GiB");
  }
  if (o.deadlock_after.count() < 0) {
    throw std::invalid_argument("spindle::Runtime: Options::deadlock_after is negative");
  }
  return o;
}

}  // namespace

const char* to_string(GuardMode mode) noexcept {
  switch (mode) {
    case GuardMode::madvise_guard:
      return "madvise_guard";
    case GuardMode::mprotect:
      return "mprotect";
    case GuardMode::canary:
      return "canary";
    case GuardMode::none:
      return "none";
  }
  return "none";
}

Runtime::Runtime(Options options)
    : sched_(std::make_unique<detail::Scheduler>(validate(options))) {}

Runtime::~Runtime() = default;

std::size_t Runtime::workers() const noexcept { return sched_->worker_count(); }
std::size_t Runtime::stack_size() const noexcept { return sched_->stack_size(); }
GuardMode Runtime::guard_mode() const noexcept { return sched_->guard_mode(); }
std::string Runtime::diagnostics() const { return sched_->diagnostics(); }

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
