// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the pattern tests (not a test executable itself).
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

namespace pattern_test {

/// Every value until the channel closes.
template <class T>
std::vector<T> drain(const spindle::RecvChan<T>& ch) {
  std::vector<T> out;
  for (auto& v : ch) out.push_back(std::move(v));
  return out;
}

/// Stage tasks alive right now (spindle::detail::live_stages).
inline std::int64_t live_stages() {
  return spindle::detail::live_stages.load(std::memory_order_acquire);
}

/// Waits, boundedly, until no more than `baseline` stage tasks are alive; true if so.
inline bool stages_wind_down(std::int64_t baseline = 0,
                             std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (live_stages() > baseline) {
    if (std::chrono::steady_clock::now() > until) return false;
    if (spindle::in_task()) {
      spindle::sleep_for(std::chrono::milliseconds(1));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return true;
}

}  // namespace pattern_test
