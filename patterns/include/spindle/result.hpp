// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Result<T>: a value or the std::error_code that explains why there is none.
#pragma once

#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "spindle/abi.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A value of type T, or an error. "Couple errors with your result type": a pipeline stage
/// sends `Result<T>` downstream so that the part of the program with enough context decides
/// what a failure means (see route_errors and try_map in <spindle/patterns.hpp>).
///
/// @code
/// using spindle::Result;
/// Result<int> good = 5;
/// Result<int> bad = Result<int>::failure(std::make_error_code(std::errc::io_error));
/// if (good) use(*good);
/// int v = bad.value_or(0);  // 0
/// int w = bad.value();      // throws std::system_error holding io_error
/// @endcode
///
/// Unlike std::expected, a failure always carries a non-zero error code. A Result is a plain
/// value: like any other object, one instance must not be modified by two threads at once.
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, std::error_code>,
                "Result<std::error_code> would be ambiguous");

 public:
  /// The type of the value held on success.
  using value_type = T;

  /// A value-initialized T (so Result<T> works where a default constructor is needed).
  Result() requires std::is_default_constructible_v<T> : state_(std::in_place_index<0>) {}

  /// Implicit from anything T can be constructed from: `Result<int> r = 5;`.
  template <class U = T>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, Result> &&
           !std::is_same_v<std::remove_cvref_t<U>, std::error_code>) Result(U&& value)
      : state_(std::in_place_index<0>, std::forward<U>(value)) {}

  /// A failure holding `ec`.
  /// @throws std::invalid_argument if `ec` is zero (a failure must say what failed).
  static Result failure(std::error_code ec) {
    if (!ec) throw std::invalid_argument("spindle::Result::failure: the error code is zero");
    return Result(Error{ec});
  }

  /// True when a value is held.
  bool has_value() const noexcept { return state_.index() == 0; }
  /// has_value(): `if (r) use(*r);`.
  explicit operator bool() const noexcept { return has_value(); }

  /// The value. @throws std::system_error holding error() when there is none.
  T& value() & {
    check();
    return std::get<0>(state_);
  }
  /// The value. @throws std::system_error holding error() when there is none.
  const T& value() const& {
    check();
    return std::get<0>(state_);
  }
  /// The value, moved out of a Result about to expire (`std::move(r).value()`).
  /// @throws std::system_error holding error() when there is none.
  T&& value() && {
    check();
    return std::move(std::get<0>(state_));
  }

  /// The value, or `fallback` when there is none.
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
  }

  /// Unchecked access, like std::optional's: only when has_value().
  T& operator*() & noexcept { return *std::get_if<0>(&state_); }
  /// Unchecked access, like std::optional's: only when has_value().
  const T& operator*() const& noexcept { return *std::get_if<0>(&state_); }
  /// Unchecked member access: only when has_value() (otherwise it returns a null pointer).
  T* operator->() noexcept { return std::get_if<0>(&state_); }
  /// Unchecked member access: only when has_value() (otherwise it returns a null pointer).
  const T* operator->() const noexcept { return std::get_if<0>(&state_); }

  /// The error; a zero (false) std::error_code when a value is held.
  std::error_code error() const noexcept {
    return has_value() ? std::error_code{} : std::get<1>(state_).code;
  }

  /// Equal when both hold equal values, or both hold equal error codes (available when T
  /// has `==`).
  friend bool operator==(const Result& a, const Result& b) requires requires(const T& x) { x == x; }
  {
    if (a.has_value() != b.has_value()) return false;
    return a.has_value() ? *a == *b : a.error() == b.error();
  }

 private:
  struct Error {
    std::error_code code;
  };
  explicit Result(Error e) : state_(std::in_place_index<1>, e) {}
  void check() const {
    if (!has_value()) throw std::system_error(std::get<1>(state_).code, "spindle::Result::value");
  }

  std::variant<T, Error> state_;
};

/// Success or an error, with nothing to carry on success.
template <>
class [[nodiscard]] Result<void> {
 public:
  /// No value: success carries nothing.
  using value_type = void;

  /// Success.
  Result() noexcept = default;
  /// A failure holding `ec`. @throws std::invalid_argument if `ec` is zero.
  static Result failure(std::error_code ec) {
    if (!ec) throw std::invalid_argument("spindle::Result::failure: the error code is zero");
    Result r;
    r.error_ = ec;
    return r;
  }
  /// True on success.
  bool has_value() const noexcept { return !error_; }
  /// has_value().
  explicit operator bool() const noexcept { return has_value(); }
  /// Checks for success: returns on success.
  /// @throws std::system_error holding error() on failure.
  void value() const {
    if (error_) throw std::system_error(error_, "spindle::Result::value");
  }
  /// The error; a zero (false) std::error_code on success.
  std::error_code error() const noexcept { return error_; }
  /// Both successes, or failures with equal error codes.
  friend bool operator==(const Result& a, const Result& b) noexcept { return a.error_ == b.error_; }

 private:
  std::error_code error_;
};

/// True when T is some `Result<U>` (try_map and route_errors use it to tell a channel of
/// results from a channel of plain values).
template <class T>
inline constexpr bool is_result_v = false;
/// @cond INTERNAL
template <class T>
inline constexpr bool is_result_v<Result<T>> = true;
/// @endcond

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
