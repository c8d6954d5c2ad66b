// SPDX-License-Identifier: Apache-2.0
#include "runtime/coarse_clock.hpp"

#include <chrono>
#include <thread>

#include "runtime/futex.hpp"
#include "runtime/stamp_clock.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

std::atomic<std::uint64_t> g_coarse_stamp{0};
std::atomic<std::int64_t> g_coarse_ns{0};
#if SPINDLE_TEST_HOOKS
std::atomic<void (*)()> g_background_refresh_hook{nullptr};
#endif

namespace {

constexpr auto kTick = std::chrono::milliseconds(1);
// Ticks the ticker goes on after the last hold was released before it sleeps: a runtime
// woken by sporadic work (a request every few ms) then costs a futex wake-up only after a
// quiet spell, not per wake.
constexpr int kLingerTicks = 20;

std::int64_t steady_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Raises the stamp to now. Holders refresh it too, so keep it monotonic: a ticker reading
// taken just before a holder's must not overwrite it afterwards.
void refresh() noexcept {
  const std::uint64_t now = stamp_now();
  // relaxed: the stamp publishes nothing (see coarse_stamp()).
  std::uint64_t cur = g_coarse_stamp.load(std::memory_order_relaxed);
  while (cur < now && !g_coarse_stamp.compare_exchange_weak(cur, now, std::memory_order_relaxed)) {
  }
  // The steady clock itself, not spindle::Clock: a simulation's worker holds the clock too,
  // and its virtual time must not leak into the real runtimes' timer checks.
  const std::int64_t ns = steady_now_ns();
  // relaxed: as above.
  std::int64_t seen = g_coarse_ns.load(std::memory_order_relaxed);
  while (seen < ns && !g_coarse_ns.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
  }
}

class Ticker {
 public:
  Ticker() {
    std::thread([this] { loop(); }).detach();
  }

  void acquire() noexcept {
    // seq_cst, with the load of asleep_ after it: pairs with loop()'s store of asleep_ and
    // its load of holders_ (a Dekker pair): either the ticker sees this hold, or this sees
    // the ticker asleep and wakes it.
    const bool first = holders_.fetch_add(1, std::memory_order_seq_cst) == 0;
    // The ticker may have slept for long, or have been starved of CPU, and this thread is
    // about to run tasks that park: every hold starts fresh (a thread takes one when it
    // wakes, which costs a futex wait already).
    refresh();
    if (first && asleep_.load(std::memory_order_seq_cst)) futex_wake(holders_, 1);
  }
  void release() noexcept {
    // relaxed: the ticker only uses the count to decide whether to go on ticking.
    holders_.fetch_sub(1, std::memory_order_relaxed);
  }
  bool asleep() const noexcept { return asleep_.load(std::memory_order_seq_cst); }

 private:
  [[noreturn]] void loop() {
    int quiet = 0;
    for (;;) {
      SPINDLE_TEST_HOOK(g_background_refresh_hook);
      refresh();
      // relaxed: a stale count only shifts when the ticker sleeps by a tick.
      if (holders_.load(std::memory_order_relaxed) != 0) {
        quiet = 0;
      } else if (++quiet > kLingerTicks) {
        // seq_cst: the Dekker pair with acquire() (see there).
        asleep_.store(true, std::memory_order_seq_cst);
        while (holders_.load(std::memory_order_seq_cst) == 0) futex_wait(holders_, 0);
        asleep_.store(false, std::memory_order_seq_cst);
        quiet = 0;
        continue;
      }
      std::this_thread::sleep_for(kTick);
    }
  }

  std::atomic<std::uint32_t> holders_{0};  // futex word
  std::atomic<bool> asleep_{false};
};

// The first call starts the thread (and throws if it cannot): start_coarse_ticker(), from
// every Scheduler's constructor, before any worker holds.
Ticker& ticker() {
  // Never destroyed: workers of static runtimes may still release their holds at exit.
  static Ticker* t = new Ticker;
  return *t;
}

}  // namespace

void start_coarse_ticker() { (void)ticker(); }

void coarse_clock_refresh() noexcept {
  SPINDLE_TEST_HOOK(g_background_refresh_hook);
  refresh();
}

void ParkClockCheck::check() noexcept {
  const std::int64_t now = steady_now_ns();
  // relaxed: a time to compare with, as in coarse_now_ns().
  if (now - g_coarse_ns.load(std::memory_order_relaxed) > kParkCheckLag.count()) refresh();
  // Scale the count by how far the last every_ parks were from the target spacing: halve it
  // at most, or double it at most, per check, so that one odd interval moves it little; a
  // first check, or one after a long run, starts over at every park.
  const std::int64_t spent = now - last_check_ns_;
  last_check_ns_ = now;
  if (spent >= kParkCheckLag.count()) {
    every_ = 1;
  } else if (spent > kParkCheckSpacing.count()) {
    every_ = every_ > 1 ? every_ / 2 : 1;
  } else if (spent < kParkCheckSpacing.count() / 2) {
    every_ = every_ < kParkCheckMaxEvery ? every_ * 2 : kParkCheckMaxEvery;
  }
  countdown_ = every_;
}

void CoarseClockHold::acquire() noexcept { ticker().acquire(); }
void CoarseClockHold::release() noexcept { ticker().release(); }

bool coarse_ticker_asleep() noexcept { return ticker().asleep(); }

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
