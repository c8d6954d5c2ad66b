// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::errc: the error codes contexts report, as a std::error_code category.
#pragma once

#include <string>
#include <system_error>
#include <type_traits>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// Why a Context is done, as returned by Context::err(). Compares with std::error_code:
/// @code
/// if (ctx.err() == spindle::errc::canceled) { /* someone called cancel() */ }
/// @endcode
/// The codes are also equivalent to the portable conditions std::errc::operation_canceled and
/// std::errc::timed_out respectively.
enum class errc {
  canceled = 1,           ///< The context (or an ancestor) was cancelled (Go: context.Canceled).
  deadline_exceeded = 2,  ///< The context's deadline passed (Go: context.DeadlineExceeded).
};

/// The category of spindle::errc; its name() is "spindle".
const std::error_category& error_category() noexcept;

/// Makes a std::error_code of spindle's category (found by argument-dependent lookup).
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE

/// @cond INTERNAL
// Lets spindle::errc convert implicitly to std::error_code and compare with one.
template <>
struct std::is_error_code_enum<spindle::errc> : std::true_type {};
/// @endcond
