// SPDX-License-Identifier: Apache-2.0
/// @file
/// What happens to an exception that escapes a detached task: spindle::UnhandledException
/// and spindle::set_unhandled_exception_handler.
#pragma once

#include <exception>
#include <functional>
#include <string>

#include "spindle/abi.hpp"
#include "spindle/leaks.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// An exception that escaped a detached task (one whose handle was detach()ed, as
/// WaitGroup::spawn does), or the error that kept such a task from starting (no stack).
struct UnhandledException {
  TaskInfo task;                 ///< The task: id, name, spawn site.
  std::exception_ptr exception;  ///< What it threw.
  std::string message;           ///< what() of a std::exception, else a description.

  /// The exception's message.
  const char* what() const noexcept { return message.c_str(); }
};

/// Receives UnhandledExceptions; runs on the thread where the task ended (a worker), or on the
/// thread that detached the task if it had already ended. It may return (the runtime goes on)
/// or end the process.
using UnhandledExceptionHandler = std::function<void(const UnhandledException&)>;

/// Installs `handler` for every runtime of the process and returns the previous one. An empty
/// handler restores the default, which prints the message and the task's id, name and spawn
/// site on stderr, then calls std::terminate (as an exception escaping a std::thread does).
/// @code
/// spindle::set_unhandled_exception_handler([](const spindle::UnhandledException& e) {
///   log_error(e.task.id, e.what());
/// });
/// @endcode
UnhandledExceptionHandler set_unhandled_exception_handler(UnhandledExceptionHandler handler);

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
