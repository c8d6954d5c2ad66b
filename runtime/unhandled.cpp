// SPDX-License-Identifier: Apache-2.0
// Exceptions that escape detached tasks (spindle/unhandled.hpp): the process-wide handler,
// its default, and the handshake that reports each failed detached task exactly once.
#include "spindle/unhandled.hpp"

#include <cstdio>
#include <exception>
#include <mutex>
#include <utility>

#include "runtime/stamp_clock.hpp"
#include "runtime/task_registry.hpp"
#include "spindle/detail/task_core.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {
namespace {

std::mutex g_handler_mu;
UnhandledExceptionHandler& handler_slot() {
  static auto* h = new UnhandledExceptionHandler;  // never destroyed: tasks may end at exit
  return *h;
}

std::string describe_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

[[noreturn]] void default_handler(const UnhandledException& e) {
  std::fprintf(stderr,
               "spindle: unhandled exception in detached task %llu%s%s%s, spawned at %s:%u (%s): "
               "%s\n",
               static_cast<unsigned long long>(e.task.id), e.task.name.empty() ? "" : " \"",
               e.task.name.c_str(), e.task.name.empty() ? "" : "\"", e.task.file.c_str(),
               e.task.line, e.task.function.c_str(), e.what());
  std::fflush(stderr);
  std::terminate();
}

bool is_teardown_unwind(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const detail::ForcedUnwind&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

UnhandledExceptionHandler set_unhandled_exception_handler(UnhandledExceptionHandler handler) {
  std::lock_guard lock(g_handler_mu);
  return std::exchange(handler_slot(), std::move(handler));
}

namespace detail {

void note_task_failure(TaskCore& core) noexcept {
  if (!core.error_ptr() || is_teardown_unwind(core.error_ptr())) return;
  // seq_cst: the task's half of the handshake with Task::detach() (task_core.hpp).
  core.failure.fetch_or(TaskCore::kFailurePending, std::memory_order_seq_cst);
  if (core.handle_state.load(std::memory_order_seq_cst) == TaskCore::HandleState::detached) {
    report_unhandled(core);
  }
}

void report_unhandled(TaskCore& core) noexcept {
  // acq_rel: one report per task; the winner reads the error the task published.
  if ((core.failure.fetch_or(TaskCore::kFailureReported, std::memory_order_acq_rel) &
       TaskCore::kFailureReported) != 0) {
    return;
  }
  UnhandledException e;
  try {
    e.task = TaskRegistry::describe(core, read_stamp_clock());
    e.task.state = "finished";
    e.exception = core.error_ptr();
    e.message = describe_exception(e.exception);
  } catch (...) {
    // Out of memory while describing: report what there is.
  }
  UnhandledExceptionHandler h;
  {
    std::lock_guard lock(g_handler_mu);
    h = handler_slot();
  }
  if (!h) default_handler(e);
  try {
    h(e);
  } catch (...) {
    std::fputs("spindle: the unhandled exception handler threw; terminating\n", stderr);
    std::terminate();
  }
}

}  // namespace detail
}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
