// SPDX-License-Identifier: Apache-2.0
// after() and Ticker on the runtime's timer heap (runtime/include/spindle/detail/timer.hpp).
//
// Timer callbacks run outside any task, on a scheduler or timer thread, and must never
// block: they only ever try_send into a channel with room for one tick.
#include "spindle/timers.hpp"

#include <stdexcept>

#include "spindle/detail/timer.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE {

namespace {

// A fire-and-forget timer for after(): owns a handle to the channel and frees itself from
// its callback.
struct AfterTimer {
  explicit AfterTimer(Chan<TimePoint> c) : node(&AfterTimer::fire, this), ch(std::move(c)) {
    node.self_deleting = true;
  }
  static void fire(detail::TimerNode& n) {
    auto* self = static_cast<AfterTimer*>(n.context);
    self->ch.try_send(Clock::now());  // capacity 1, sent once: always room
    delete self;
  }
  detail::TimerNode node;
  Chan<TimePoint> ch;
};

}  // namespace

RecvChan<TimePoint> after_until(TimePoint deadline) {
  Chan<TimePoint> ch(1);
  if (deadline <= Clock::now()) {
    ch.try_send(Clock::now());
    return ch;
  }
  auto* timer = new AfterTimer(ch);
  timer->node.when = deadline;
  try {
    detail::timer_add(timer->node);
  } catch (...) {
    delete timer;
    throw;
  }
  return ch;
}

struct Ticker::State {
  explicit State(Chan<TimePoint> c) : node(&State::fire, this), ch(std::move(c)) {}
  static void fire(detail::TimerNode& n) {
    auto* self = static_cast<State*>(n.context);
    self->ch.try_send(Clock::now());  // a full buffer drops the tick, as Go's ticker does
  }
  detail::TimerNode node;
  Chan<TimePoint> ch;
};

namespace {
void check_period(Clock::duration period) {
  if (period <= Clock::duration::zero()) {
    throw std::invalid_argument("spindle::Ticker: non-positive period");
  }
}
}  // namespace

Ticker::Ticker(Clock::duration period, int /*tag*/) {
  check_period(period);
  state_ = std::make_unique<State>(Chan<TimePoint>(1));
  state_->node.period = period;
  state_->node.when = Clock::now() + period;
  detail::timer_add(state_->node);
}

Ticker::Ticker(Ticker&& other) noexcept = default;

Ticker& Ticker::operator=(Ticker&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}

Ticker::~Ticker() { stop(); }

RecvChan<TimePoint> Ticker::chan() const noexcept {
  return state_ ? RecvChan<TimePoint>(state_->ch) : RecvChan<TimePoint>();
}

void Ticker::stop() noexcept {
  if (state_) detail::timer_cancel(state_->node);
}

void Ticker::reset_ns(Clock::duration period) {
  check_period(period);
  Chan<TimePoint> ch(1);
  if (state_) {
    detail::timer_cancel(state_->node);  // waits out a running callback
    ch = state_->ch;
  }
  // A fresh node on the same channel: no reliance on re-arming a cancelled node.
  state_ = std::make_unique<State>(std::move(ch));
  state_->node.period = period;
  state_->node.when = Clock::now() + period;
  detail::timer_add(state_->node);
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE
