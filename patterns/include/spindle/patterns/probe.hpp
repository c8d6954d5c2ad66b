// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::Probe: measures a pipeline stage for Little's law (L = λW).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "spindle/abi.hpp"
#include "spindle/clock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// Measures one stage of a pipeline: the arrival rate λ (values per second), the mean time W
/// a value spends in the stage, and the mean number of values L in the stage at once. Pass a
/// probe to map, filter or fan_out (one probe shared by all workers measures the stage as a
/// whole). By Little's law L = λW; the stage with the largest W (or L) is the one to widen.
///
/// @code
/// spindle::Probe parse_probe("parse");
/// auto parsed = spindle::map(done, lines, parse, &parse_probe);
/// ...
/// std::puts(parse_probe.stats().to_string().c_str());
/// // parse: 12000 in, 12000 out, λ=9876.5/s, W=101µs, L=1.00
/// @endcode
///
/// Thread-safe; the stages of one probe may run on any workers. The probe must outlive the
/// stages that use it.
class Probe {
 public:
  /// What a probe has seen so far.
  struct Stats {
    std::uint64_t arrivals = 0;    ///< Values that entered the stage.
    std::uint64_t departures = 0;  ///< Values that left it (sent on, dropped or abandoned).
    std::int64_t in_flight = 0;    ///< Values in the stage right now.
    Clock::duration elapsed{0};    ///< From the first arrival to the moment of stats().
    double lambda = 0;             ///< Arrivals per second over `elapsed`.
    Clock::duration w{0};          ///< Mean time in the stage of the departed values.
    double l = 0;                  ///< Time-averaged values in the stage over `elapsed`.
    /// One line: "name: A in, D out, λ=…/s, W=…µs, L=…".
    std::string to_string(const std::string& name = "stage") const;
  };

  /// Marks one value's stay in the stage: arrival at construction, departure at destruction.
  /// A null probe measures nothing.
  class Visit {
   public:
    /// Records an arrival at `probe` now (nothing if `probe` is null); the destructor
    /// records the departure.
    explicit Visit(Probe* probe) noexcept
        : probe_(probe), arrived_(probe ? probe->arrive() : TimePoint{}) {}
    Visit(const Visit&) = delete;
    Visit& operator=(const Visit&) = delete;
    ~Visit() {
      if (probe_ != nullptr) probe_->depart(arrived_);
    }

   private:
    Probe* probe_;
    TimePoint arrived_;
  };

  /// A probe with nothing measured yet; `name` labels its to_string() line.
  explicit Probe(std::string name = "stage") : name_(std::move(name)) {}
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  /// Records an arrival; returns its time, to hand to depart().
  TimePoint arrive() noexcept;
  /// Records the departure of a value that arrived at `arrived`.
  void depart(TimePoint arrived) noexcept;
  /// A snapshot of the measurements.
  Stats stats() const;
  /// stats().to_string(name()).
  std::string to_string() const { return stats().to_string(name_); }
  /// The name given at construction.
  const std::string& name() const noexcept { return name_; }

 private:
  // Advances the in-flight integral to `now`. Under mu_.
  void account(TimePoint now) const noexcept;

  const std::string name_;
  // mu_ guards everything below. A mutex, not atomics: the in-flight integral needs the count
  // and the time of its last change updated together, and a probe is opt-in instrumentation.
  mutable std::mutex mu_;
  bool started_ = false;
  TimePoint first_arrival_{};
  mutable TimePoint last_change_{};
  mutable double area_ns_ = 0;  // ∫ in_flight dt, in value·nanoseconds
  std::int64_t in_flight_ = 0;
  std::uint64_t arrivals_ = 0;
  std::uint64_t departures_ = 0;
  Clock::duration total_w_{0};
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
