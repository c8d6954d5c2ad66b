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
  static constexpr source_location current(const char* file = __builtin_FILE(),
                                           std::uint_least32_t line = __builtin_LINE(),
                                           const char* function = __builtin_FUNCTION()) noexcept {
    source_location loc;
    loc.file_ = file;
    loc.line_ = line;
    loc.function_ = function;
    return loc;
  }
  constexpr source_location() noexcept = default;
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  constexpr std::uint_least32_t column() const noexcept { return 0; }
  constexpr const char* function_name() const noexcept { return function_; }

 private:
  const char* file_ = "";
  std::uint_least32_t line_ = 0;
  const char* function_ = "";
};
#endif

}  // namespace spindle
