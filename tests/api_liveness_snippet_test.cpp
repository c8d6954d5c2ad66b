// SPDX-License-Identifier: Apache-2.0
// The "Liveness" and "Version" snippets of the API contract, as written, so they keep compiling
// and behaving.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "spindle/spindle.hpp"
#include "spindle/version.hpp"

using namespace std::chrono_literals;

namespace {

TEST(ApiSnippet, Liveness) {
  std::atomic<int> seen{0};
  std::string message;
  std::uint64_t task_id = 0;
  auto previous =
      spindle::set_unhandled_exception_handler([&](const spindle::UnhandledException& e) {
        // e.what(): the exception's message; e.task: the TaskInfo (id, name, spawn site) of the
        // detached task it escaped from; e.exception: the std::exception_ptr
        message = e.what();
        task_id = e.task.id;
        EXPECT_TRUE(static_cast<bool>(e.exception));
        ++seen;
      });
  {
    spindle::Runtime rt5{spindle::Options{.stall_report = 50ms}};
    std::uint64_t id = 0;
    rt5.block_on([&] {
      spindle::Task<void> t = spindle::spawn([] { throw std::runtime_error("escaped"); });
      id = t.id();
      t.detach();
    });
    for (int i = 0; i < 5000 && seen.load() == 0; ++i) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(seen.load(), 1);
    EXPECT_EQ(message, "escaped");
    EXPECT_EQ(task_id, id);
  }
  spindle::set_unhandled_exception_handler(std::move(previous));
}

TEST(ApiSnippet, Version) {
  static_assert(SPINDLE_VERSION_MAJOR >= 0);  // SPINDLE_VERSION_MINOR, SPINDLE_VERSION_PATCH too
  std::string_view v = spindle::version();    // "MAJOR.MINOR.PATCH", the package's version
  EXPECT_EQ(v, std::to_string(SPINDLE_VERSION_MAJOR) + "." + std::to_string(SPINDLE_VERSION_MINOR) +
                   "." + std::to_string(SPINDLE_VERSION_PATCH));
}

}  // namespace
