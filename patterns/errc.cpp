// SPDX-License-Identifier: Apache-2.0
// The "spindle" error category behind spindle::errc.
#include "spindle/errc.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {
namespace {

class SpindleCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "spindle"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::canceled:
        return "context canceled";
      case errc::deadline_exceeded:
        return "context deadline exceeded";
    }
    return "unknown spindle error " + std::to_string(ev);
  }
  // So that portable code can test `ec == std::errc::timed_out` (or operation_canceled)
  // without knowing spindle's category.
  std::error_condition default_error_condition(int ev) const noexcept override {
    switch (static_cast<errc>(ev)) {
      case errc::canceled:
        return std::make_error_condition(std::errc::operation_canceled);
      case errc::deadline_exceeded:
        return std::make_error_condition(std::errc::timed_out);
    }
    return {ev, *this};
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const SpindleCategory category;
  return category;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
