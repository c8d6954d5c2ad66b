// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::source_location: where a task was spawned.
#pragma once

#include <cstdint>
#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>
#endif

namespace spindle {

#if defined(__cpp_lib_source_location)
/// The standard std::source_location where the toolchain has it.
using source_location = std::source_location;
#else
/// Stand-in for std::source_location on toolchains without it (clang 14 with libstdc++ 12
/// lacks __builtin_source_location): the same interface, filled by the compiler builtins
/// that such toolchains do have, evaluated at the call site through default arguments.
class source_location {
 public:
  /// The location of the call: as a default argument, the caller's call site.
  static constexpr source_location current(const char* file = __builtin_FILE(),
                                           std::uint_least32_t line = __builtin_LINE(),
                                           const char* function = __builtin_FUNCTION()) noexcept {
    source_location loc;
    loc.file_ = file;
    loc.line_ = line;
    loc.function_ = function;
    return loc;
  }
  /// An unknown location: empty file and function names, line 0.
  constexpr source_location() noexcept = default;
  /// The source file's name as the compiler saw it (`__FILE__`).
  constexpr const char* file_name() const noexcept { return file_; }
  /// The line number, 1-based (0 when unknown).
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  /// Always 0: the builtins this stand-in uses do not give a column.
  constexpr std::uint_least32_t column() const noexcept { return 0; }
  /// The enclosing function's name (unqualified, as `__func__`).
  constexpr const char* function_name() const noexcept { return function_; }

 private:
  const char* file_ = "";
  std::uint_least32_t line_ = 0;
  const char* function_ = "";
};
#endif

}  // namespace spindle
