// SPDX-License-Identifier: Apache-2.0
/// @file
/// spindle::after and spindle::Ticker: time as channels, as Go's time.After and time.Ticker.
#pragma once

#include <chrono>
#include <memory>

#include "spindle/abi.hpp"
#include "spindle/chan.hpp"
#include "spindle/clock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

/// A channel that receives the current time once, `d` from now (at once if `d` <= 0), and
/// is never closed. The timer keeps the channel alive until it fires; nobody has to receive.
///
/// @code
/// spindle::select(spindle::on_recv(results, [&](auto r) { use(r); }),
///                 spindle::on_recv(spindle::after(100ms), [&](auto) { timed_out = true; }));
/// @endcode
RecvChan<TimePoint> after_until(TimePoint deadline);

/// As after_until(Clock::now() + d).
template <class Rep, class Period>
RecvChan<TimePoint> after(std::chrono::duration<Rep, Period> d) {
  return after_until(Clock::now() + std::chrono::ceil<Clock::duration>(d));
}

/// Delivers the current time on chan() every `period`, like Go's time.Ticker: the channel
/// buffers one tick, and ticks that find it full are dropped, so a slow receiver sees fewer
/// ticks, never a backlog. Stopped by stop() or the destructor; the channel is never closed.
///
/// @code
/// spindle::Ticker tick(10ms);
/// for (int i = 0; i < 3; ++i) tick.chan().recv();   // about 30ms
/// tick.stop();
/// @endcode
class Ticker {
 public:
  /// Starts ticking. @throws std::invalid_argument if `period` is not positive.
  template <class Rep, class Period>
  explicit Ticker(std::chrono::duration<Rep, Period> period)
      : Ticker(std::chrono::ceil<Clock::duration>(period), 0) {}
  /// Takes over `other`, which becomes a stopped ticker with a nil channel.
  Ticker(Ticker&& other) noexcept;
  /// Stops this ticker, then takes over `other`.
  Ticker& operator=(Ticker&& other) noexcept;
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;
  /// Stops the ticker.
  ~Ticker();

  /// The channel the ticks arrive on (nil for a moved-from ticker).
  RecvChan<TimePoint> chan() const noexcept;
  /// Stops further ticks (a tick already buffered stays receivable). Idempotent.
  void stop() noexcept;
  /// Stops, then restarts with a new period, the next tick `period` from now.
  /// @throws std::invalid_argument if `period` is not positive.
  template <class Rep, class Period>
  void reset(std::chrono::duration<Rep, Period> period) {
    reset_ns(std::chrono::ceil<Clock::duration>(period));
  }

 private:
  struct State;
  Ticker(Clock::duration period, int tag);
  void reset_ns(Clock::duration period);
  std::unique_ptr<State> state_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
