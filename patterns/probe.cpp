// SPDX-License-Identifier: Apache-2.0
// spindle::Probe: Little's-law measurements of a pipeline stage.
#include "spindle/patterns/probe.hpp"

#include <cstdio>

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

void Probe::account(TimePoint now) const noexcept {
  if (now > last_change_) {
    area_ns_ += static_cast<double>(in_flight_) * static_cast<double>((now - last_change_).count());
    last_change_ = now;
  }
}

TimePoint Probe::arrive() noexcept {
  TimePoint now = Clock::now();
  std::lock_guard g(mu_);
  if (!started_) {
    started_ = true;
    first_arrival_ = last_change_ = now;
  }
  account(now);
  ++in_flight_;
  ++arrivals_;
  return now;
}

void Probe::depart(TimePoint arrived) noexcept {
  TimePoint now = Clock::now();
  std::lock_guard g(mu_);
  account(now);
  --in_flight_;
  ++departures_;
  total_w_ += now - arrived;
}

Probe::Stats Probe::stats() const {
  TimePoint now = Clock::now();
  std::lock_guard g(mu_);
  Stats s;
  s.arrivals = arrivals_;
  s.departures = departures_;
  s.in_flight = in_flight_;
  if (!started_) return s;
  account(now);
  s.elapsed = now - first_arrival_;
  double secs = std::chrono::duration<double>(s.elapsed).count();
  if (secs > 0) {
    s.lambda = static_cast<double>(arrivals_) / secs;
    s.l = area_ns_ / static_cast<double>(s.elapsed.count());
  }
  if (departures_ > 0) s.w = total_w_ / static_cast<std::int64_t>(departures_);
  return s;
}

std::string Probe::Stats::to_string(const std::string& name) const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s: %llu in, %llu out, λ=%.1f/s, W=%.1fµs, L=%.2f", name.c_str(),
                static_cast<unsigned long long>(arrivals),
                static_cast<unsigned long long>(departures), lambda,
                std::chrono::duration<double, std::micro>(w).count(), l);
  return buf;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
