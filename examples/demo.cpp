// SPDX-License-Identifier: Apache-2.0
// spindle showcase, what `make demo` runs: a log-analytics pipeline over generated input.
//
//   generate lines ─▶ parse (Result<Entry>) ─▶ route errors ─▶ fan-out 4 enrichers ─▶ fan-in
//        ─▶ batch(256, 10 ms) ─▶ sink (aggregates, prints progress)
//
// The whole pipeline runs under a context with a timeout; every stage stops when the input
// is drained or the context is done, and the program ends with a leak check.
#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "spindle/context.hpp"
#include "spindle/patterns.hpp"
#include "spindle/spindle.hpp"

using namespace std::chrono_literals;

namespace {

constexpr std::size_t kLines = 100'000;
constexpr std::array<const char*, 6> kPaths{"/api/users",     "/api/orders", "/api/search",
                                            "/static/app.js", "/health",     "/api/login"};
constexpr std::array<int, 5> kStatus{200, 200, 200, 404, 500};

struct Entry {
  std::string path;
  int status = 0;
  int latency_ms = 0;
};

struct Enriched {
  Entry entry;
  bool slow = false;
  bool error = false;
};

// A deterministic stream of log lines, 1 in 97 malformed.
class LineSource {
 public:
  std::string operator()() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    auto r = static_cast<std::uint32_t>(state_ >> 33);
    if (r % 97 == 0) return "garbage line " + std::to_string(r);
    char buf[96];
    std::snprintf(buf, sizeof buf, "GET %s %d %ums", kPaths[r % kPaths.size()],
                  kStatus[(r / 7) % kStatus.size()], 1 + (r / 13) % 250);
    return buf;
  }

 private:
  std::uint64_t state_ = 42;
};

spindle::Result<Entry> parse(std::string line) {
  char path[64];
  int status = 0;
  int latency = 0;
  if (std::sscanf(line.c_str(), "GET %63s %d %dms", path, &status, &latency) != 3) {
    return spindle::Result<Entry>::failure(std::make_error_code(std::errc::bad_message));
  }
  return Entry{path, status, latency};
}

Enriched enrich(Entry e) {
  Enriched out;
  out.slow = e.latency_ms > 200;
  out.error = e.status >= 500;
  out.entry = std::move(e);
  return out;
}

struct PathStats {
  std::uint64_t hits = 0, errors = 0, slow = 0, latency_sum = 0;
};

}  // namespace

int main() {
  spindle::Runtime rt;
  std::printf("spindle demo: log analytics over %zu generated lines\n", kLines);
  std::printf("runtime: %s\n", rt.diagnostics().c_str());

  spindle::Probe parse_probe("parse");
  spindle::Probe enrich_probe("enrich x4");

  auto start = spindle::Clock::now();
  struct Summary {
    std::uint64_t entries = 0, batches = 0, bad_lines = 0;
    std::map<std::string, PathStats> by_path;
    std::error_code stopped_by;
  };
  Summary sum = rt.block_on([&] {
    Summary s;
    auto [ctx, cancel] = spindle::with_timeout(spindle::background(), 1500ms);

    auto lines = spindle::take(ctx, spindle::repeat_fn(ctx, LineSource{}), kLines);
    auto parsed = spindle::try_map(ctx, lines, [&](std::string line) {
      spindle::Probe::Visit visit(&parse_probe);
      return parse(std::move(line));
    });
    auto entries = spindle::route_errors(ctx, parsed, [&](std::error_code) { ++s.bad_lines; });
    auto workers = spindle::fan_out(ctx, entries, 4, enrich, &enrich_probe);
    auto merged = spindle::fan_in(ctx, workers);
    auto batches = spindle::batch(ctx, merged, 256, 10ms);

    auto last_report = start;
    for (const std::vector<Enriched>& b : batches) {  // the sink
      ++s.batches;
      for (const Enriched& e : b) {
        PathStats& p = s.by_path[e.entry.path];
        ++p.hits;
        p.errors += e.error;
        p.slow += e.slow;
        p.latency_sum += static_cast<std::uint64_t>(e.entry.latency_ms);
      }
      s.entries += b.size();
      auto now = spindle::Clock::now();
      if (now - last_report >= 200ms) {  // progress, five times a second
        last_report = now;
        auto ms = std::chrono::duration<double, std::milli>(now - start).count();
        std::printf("  progress: %7" PRIu64 " entries in %5" PRIu64 " batches, %6.1f ms\n",
                    s.entries, s.batches, ms);
      }
    }
    s.stopped_by = ctx.err();  // empty: the input was drained before the timeout
    cancel();
    return s;
  });
  auto ms = std::chrono::duration<double, std::milli>(spindle::Clock::now() - start).count();

  std::printf("\n%-16s %8s %7s %7s %8s\n", "path", "hits", "5xx", "slow", "avg ms");
  for (const auto& [path, p] : sum.by_path) {
    std::printf("%-16s %8" PRIu64 " %7" PRIu64 " %7" PRIu64 " %8.1f\n", path.c_str(), p.hits,
                p.errors, p.slow,
                static_cast<double>(p.latency_sum) /
                    static_cast<double>(std::max<std::uint64_t>(p.hits, 1)));
  }
  std::printf("\nLittle's law per stage (L = λW):\n  %s\n  %s\n", parse_probe.to_string().c_str(),
              enrich_probe.to_string().c_str());

  // Leak check: every stage task must have ended (input drained or context done).
  spindle::LeakReport leaks = rt.leaks();
  bool wound_down = leaks.empty();
  if (!wound_down) std::fputs(leaks.to_string().c_str(), stderr);
  bool complete = sum.entries + sum.bad_lines == kLines;
  std::printf("\n%" PRIu64 " entries, %" PRIu64 " malformed lines, %" PRIu64
              " batches in %.1f ms (%s); leak check: %s\n",
              sum.entries, sum.bad_lines, sum.batches, ms,
              sum.stopped_by ? sum.stopped_by.message().c_str() : "input drained",
              wound_down ? "clean, no task left (rt.leaks() empty)" : "TASKS LEFT BEHIND");
  return wound_down && (complete || sum.stopped_by) ? 0 : 1;
}
