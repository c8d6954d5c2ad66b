// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::source_location: where a task was spawned.
#pragma once

#include <cstdint>
#include <version>

#include "spindle/abi.hpp"

#if defined(__cpp_lib_source_location)
#include <source_location>
#endif

#if defined(__has_builtin)
#if __has_builtin(__builtin_COLUMN)
#define SPINDLE_DETAIL_CALL_COLUMN() __builtin_COLUMN()
#endif
#endif
#ifndef SPINDLE_DETAIL_CALL_COLUMN
#define SPINDLE_DETAIL_CALL_COLUMN() 0
#endif

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A source position with std::source_location's interface, filled by the compiler builtins
/// that g++ and clang++ both have, evaluated at the call site through default arguments.
///
/// spindle has its own type rather than std::source_location because the standard one is not
/// available everywhere the library builds (clang++ 14 with libstdc++ 12 lacks
/// `__builtin_source_location`), and a type that differs by compiler would give the task
/// record a different layout in a program built with one compiler and a library built with
/// the other. This one is the same four fields under every compiler.
class source_location {
 public:
  /// The location of the call: as a default argument, the caller's call site.
  static constexpr source_location current(
      const char* file = __builtin_FILE(), std::uint_least32_t line = __builtin_LINE(),
      std::uint_least32_t column = SPINDLE_DETAIL_CALL_COLUMN(),
      const char* function = __builtin_FUNCTION()) noexcept {
    source_location loc;
    loc.file_ = file;
    loc.function_ = function;
    loc.line_ = line;
    loc.column_ = column;
    return loc;
  }
  /// An unknown location: empty file and function names, line 0.
  constexpr source_location() noexcept = default;
#if defined(__cpp_lib_source_location)
  /// The same position as a std::source_location, so either can name a spawn site.
  constexpr source_location(const std::source_location& s) noexcept  // NOLINT: implicit
      : file_(s.file_name()), function_(s.function_name()), line_(s.line()), column_(s.column()) {}
#endif
  /// The source file's name as the compiler saw it (`__FILE__`).
  constexpr const char* file_name() const noexcept { return file_; }
  /// The line number, 1-based (0 when unknown).
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  /// The column, 1-based, where the compiler gives one (clang++ does, g++ 12 does not: 0).
  constexpr std::uint_least32_t column() const noexcept { return column_; }
  /// The enclosing function's name (unqualified, as `__func__`).
  constexpr const char* function_name() const noexcept { return function_; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
  std::uint_least32_t column_ = 0;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
