// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::testing::explore: run a test body under many seeded schedules, stop at the first
/// that fails, and say how to replay it.
#pragma once

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

#include "spindle/abi.hpp"
#include "spindle/leaks.hpp"
#include "spindle/simulation.hpp"
#include "spindle/source_location.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::testing {

/// Configuration of explore(). An aggregate: `ExploreOptions{.runs = 1000}`.
struct ExploreOptions {
  /// How many runs (schedules) to try at most.
  std::size_t runs = 1000;
  /// Run k (from 0) uses seed `seed + k`, so the reported seed replays on its own.
  std::uint64_t seed = 1;
  /// The scheduling strategy of every run (Schedule::pct finds deep bugs with fewer runs).
  Schedule schedule = Schedule::random;
  /// As SimOptions::pct_depth.
  unsigned pct_depth = 3;
  /// As SimOptions::pct_steps.
  std::uint64_t pct_steps = 1000;
  /// Count tasks still alive (or never joined) after the body returns as a failure.
  bool check_leaks = true;
  /// Print the failure, the replay line and the trace's tail on stderr.
  bool print = true;
  /// As SimOptions::max_steps: a run that takes longer fails (livelock).
  std::uint64_t max_steps = SimOptions{}.max_steps;
  /// As SimOptions::stack_size.
  std::size_t stack_size = SimOptions{}.stack_size;
  /// Events of the failing run kept in ExploreResult::trace (its last ones).
  std::size_t trace_limit = 100;
};

/// What explore() found.
struct ExploreResult {
  bool failed = false;     ///< Some run failed.
  std::uint64_t seed = 0;  ///< The failing run's seed: SimOptions{.seed = seed} replays it.
  std::size_t runs = 0;    ///< Runs executed (the failing one included).
  /// Why it failed: the exception's what(), the GoogleTest failure, the deadlock report or
  /// the leaked tasks.
  std::string message;
  std::string trace;   ///< The failing run's last events (SimEvent::to_string lines).
  std::string replay;  ///< A line of C++ to paste into a test to replay the failing run.
  SimOptions options;  ///< The failing run's options (Simulation{options} replays it).
};

/// @cond INTERNAL
namespace explore_detail {

inline std::string replay_line(const SimOptions& o) {
  std::string fields = ".seed = " + std::to_string(o.seed);
  if (o.schedule != Schedule::random) {
    fields.append(", .schedule = spindle::testing::Schedule::").append(to_string(o.schedule));
  }
  if (o.schedule == Schedule::pct) {
    fields.append(", .pct_depth = ").append(std::to_string(o.pct_depth));
    fields.append(", .pct_steps = ").append(std::to_string(o.pct_steps));
  }
  fields.append(", .trace = true");
  if (o.max_steps != SimOptions{}.max_steps) {
    fields.append(", .max_steps = ").append(std::to_string(o.max_steps));
  }
  if (o.stack_size != SimOptions{}.stack_size) {
    fields.append(", .stack_size = ").append(std::to_string(o.stack_size));
  }
  std::string line = "spindle::testing::Simulation sim{spindle::testing::SimOptions{";
  line.append(fields).append("}}; sim.run(body);  // sim.trace_text() shows the run");
  return line;
}

inline std::string describe_failure(const ::testing::TestPartResult& r) {
  std::string out = "GoogleTest failure";
  if (r.file_name() != nullptr) {
    out.append(" at ").append(r.file_name()).append(":").append(std::to_string(r.line_number()));
  }
  return out.append(": ").append(r.message());
}

}  // namespace explore_detail
/// @endcond

/// Runs `body` as the root task of a fresh Simulation once per seed (`options.seed`,
/// `options.seed + 1`, ...) and stops at the first run that fails: an exception escapes the
/// body, a GoogleTest assertion fails inside it (intercepted: it does not fail the calling
/// test; the result reports it), a deadlock, or (with check_leaks) a task left behind.
/// `body` must be callable repeatedly and start from a fresh state each time.
///
/// @code
/// auto res = spindle::testing::explore(spindle::testing::ExploreOptions{.runs = 1000}, [] {
///   int x = 0;
///   auto a = spindle::spawn([&] { x = 1; });
///   auto b = spindle::spawn([&] { EXPECT_EQ(x, 1); });  // fails when b runs first
///   a.join();
///   b.join();
/// });
/// // res.failed, res.seed (replays), res.message, res.replay, res.trace
/// @endcode
/// @throws std::invalid_argument when options.runs is 0 or the simulation options cannot work.
template <class F>
ExploreResult explore(const ExploreOptions& options, F&& body,
                      spindle::source_location site = spindle::source_location::current()) {
  if (options.runs == 0) {
    throw std::invalid_argument("spindle::testing::explore: ExploreOptions::runs must be >= 1");
  }
  ExploreResult result;
  for (std::size_t k = 0; k < options.runs; ++k) {
    SimOptions sim_options{.seed = options.seed + k,
                           .schedule = options.schedule,
                           .pct_depth = options.pct_depth,
                           .pct_steps = options.pct_steps,
                           .trace = true,
                           .trace_limit = options.trace_limit,
                           .max_steps = options.max_steps,
                           .stack_size = options.stack_size,
                           .on_leak = LeakPolicy::ignore};
    std::string failure;
    std::string trace;
    {
      ::testing::TestPartResultArray reported;
      ::testing::ScopedFakeTestPartResultReporter intercept(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &reported);
      Simulation sim{sim_options};
      try {
        sim.run([&body] { std::invoke(body); }, site);
        if (options.check_leaks) {
          LeakReport leaked = sim.leaks();
          if (!leaked.empty()) failure = "task(s) left behind by the body:\n" + leaked.to_string();
        }
      } catch (const Deadlock& e) {
        failure = e.what();
      } catch (const std::exception& e) {
        failure = std::string("exception: ") + e.what();
      } catch (...) {
        failure = "exception of a type not derived from std::exception";
      }
      for (int i = 0; i < reported.size(); ++i) {
        if (reported.GetTestPartResult(i).failed()) {
          // The assertion came first; whatever followed is its consequence.
          failure = explore_detail::describe_failure(reported.GetTestPartResult(i));
          break;
        }
      }
      trace = sim.trace_text();
    }
    result.runs = k + 1;
    if (failure.empty()) continue;
    result.failed = true;
    result.seed = sim_options.seed;
    result.message = std::move(failure);
    result.trace = std::move(trace);
    result.options = sim_options;
    result.options.on_leak = SimOptions{}.on_leak;
    result.replay = explore_detail::replay_line(sim_options);
    if (options.print) {
      std::fprintf(stderr,
                   "spindle::testing::explore: run %zu of %zu failed (seed %llu, schedule %s):\n"
                   "%s\nreplay it with:\n  %s\nlast events of the run:\n%s",
                   result.runs, options.runs, static_cast<unsigned long long>(result.seed),
                   to_string(options.schedule), result.message.c_str(), result.replay.c_str(),
                   result.trace.c_str());
    }
    break;
  }
  return result;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::testing
