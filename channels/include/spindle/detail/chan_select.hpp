// SPDX-License-Identifier: Apache-2.0
// The select engine: select, select_recv, the pattern helpers' "unless done" steps, and the
// blocking send and receive of the flavors whose parked parties are woken to retry (a plain
// send or receive there is a select with one case; chan_blocking.hpp). The engine sees each
// case through SelectCase; RecvOp and SendOp reach the case's flavor through visit_flavor()
// (chan_flavors.hpp).
//
// Protocol of run_select (Go's selectgo, with crossbeam's per-channel registration instead
// of locking every channel at once):
//   1. poll: try every live case once, in a fresh random order; the first that completes
//      wins (this is what makes the choice among ready cases uniform). With a default case
//      and nothing ready, the default wins.
//   2. enrol: make one SelectCtx and link one WaitEntry per live case into its channel,
//      in that random order. If a channel says the case looks ready after linking, the
//      select claims its own context with kAborted, unlinks everything and starts over at 1.
//      If that claim fails, a partner has already claimed the select: go to 3.
//   3. park until the claimer unparks. The claimer has unlinked the winning entry, and for
//      a flavor whose claims complete operations (unbuffered) has already moved the value;
//      the select unlinks its other entries (their claims now fail) and finishes the winning
//      case: for a flavor whose claims only wake (buffered) that means retrying it, and
//      going back to 1 if someone else was faster.
// Every context is claimed exactly once (SelectCtx::try_claim), so a select completes
// exactly one case and a value is never taken twice.
//
// Unwinding: if park() throws (the runtime is tearing the task down), the select first
// aborts its own context, then takes the lock of every channel it enrolled on to unlink its
// entries. A claimer that lost walks the entries only under that lock, so once the last lock
// has been taken none is still touching them; if a claimer won (the abort failed), the
// select also waits for its unpark, which may come just after that claimer's unlock
// (SelectCtx::wait_for_claimer), before its stack may go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include "spindle/abi.hpp"
#include "spindle/detail/chan_flavors.hpp"
#include "spindle/detail/chan_status.hpp"
#include "spindle/detail/chan_wait.hpp"
#include "spindle/detail/thread_random.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

/// One live case of a select, as the engine sees it.
class SelectCase {
 public:
  /// Tries the operation without blocking. True when it completed (for a receive on a closed
  /// channel too). A send on a closed channel throws ChannelClosed.
  virtual bool try_fire() = 0;
  /// Links `e` into the channel; true when the case looks ready (see the flavors' enroll_*).
  virtual bool enroll(WaitEntry& e) noexcept = 0;
  /// Unlinks `e` if still linked.
  virtual void unenroll(WaitEntry& e) noexcept = 0;
  /// Called after the channel of this case claimed the select through `e`. True when the
  /// operation completed; false when it must be retried from the start.
  virtual bool finish(WaitEntry& e) = 0;
  /// The select was claimed through this case but unwinds instead of finishing it: a
  /// "retry" wake-up (buffered) is handed on to the next parked party, so it is not lost for
  /// the other waiters. (Claims that complete the operation carry their result: nothing to
  /// do.)
  virtual void forward_wakeup() noexcept = 0;
  /// What a task blocked on this case alone waits for, and on which channel (diagnostics).
  virtual WaitKind wait_kind() const noexcept = 0;
  virtual const void* channel() const noexcept = 0;

 protected:
  SelectCase() = default;
  SelectCase(const SelectCase&) = default;
  SelectCase& operator=(const SelectCase&) = default;
  ~SelectCase() = default;
};

inline constexpr std::size_t kNoDefault = std::numeric_limits<std::size_t>::max();

/// Runs a select over `n` cases. `cases[i]` is nullptr for a nil case and for the default
/// case, whose index is `default_index` (kNoDefault if none). `entries` has room for n
/// entries. Returns the index of the case that completed (or the default). With no live case
/// and no default it blocks forever (until the runtime unwinds the task).
/// `poll_first` false: the caller has just tried every case itself and none was ready, so
/// the first attempt goes straight to enrolling, in the order `polled` lists the live cases
/// (the caller's random poll order), or in index order when `polled` is nullptr; enrolling
/// still notices a case that became ready since, and every later attempt polls as usual.
/// The enrolment order matters: a partner that finds two entries of one select on its
/// channel completes the first.
std::size_t run_select(SelectCase* const* cases, WaitEntry* entries, std::size_t n,
                       std::size_t default_index, bool poll_first = true,
                       const std::size_t* polled = nullptr);

/// A uniform draw in [0, bound) for the order in which a select polls its cases.
[[gnu::always_inline]] inline std::size_t select_random_below(std::size_t bound) noexcept {
  return random_below(bound);
}

/// Writes the indices of the live cases (`cases[i]` not nullptr) to `order` in a uniformly
/// random order, as a select polls them (Fisher-Yates while collecting); returns how many
/// there are. `order` has room for n.
[[gnu::always_inline]] inline std::size_t shuffle_live_cases(SelectCase* const* cases,
                                                             std::size_t n,
                                                             std::size_t* order) noexcept {
  std::size_t live = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (cases[i] == nullptr) continue;
    if (live == 0) {  // the first live case has nowhere else to go: no random draw
      order[0] = i;
      live = 1;
      continue;
    }
    const std::size_t j = select_random_below(live + 1);
    order[live] = order[j];
    order[j] = i;
    ++live;
  }
  return live;
}

/// Parks the caller for good: a nil channel's send or receive, a select with no live case.
/// Returns only by unwinding (ForcedUnwind at runtime teardown).
[[noreturn]] void block_forever(WaitKind kind = WaitKind::select);

/// Throws spindle::ChannelClosed with `what` (defined with the exception types).
[[noreturn]] void throw_channel_closed(const char* what);
/// Throws spindle::ChannelError with `what`.
[[noreturn]] void throw_channel_error(const char* what);

/// A receive case on a live channel.
template <class T>
class RecvOp final : public SelectCase {
 public:
  explicit RecvOp(ChanState<T>* state) noexcept : state_(state) {}

  bool try_fire() override { return chan_try_recv(*state_, value) != ChanStatus::not_ready; }
  /// A hint that try_fire() may complete now.
  bool may_fire() const noexcept { return chan_recv_may_proceed(*state_); }
  bool enroll(WaitEntry& e) noexcept override {
    return visit_flavor(*state_, [&](auto& s) noexcept { return s.enroll_recv(e, &value); });
  }
  void unenroll(WaitEntry& e) noexcept override {
    visit_flavor(*state_, [&e](auto& s) noexcept { s.unenroll_recv(e); });
  }
  void forward_wakeup() noexcept override {
    visit_flavor(*state_, [](auto& s) noexcept { s.forward_recv_wakeup(); });
  }
  WaitKind wait_kind() const noexcept override { return WaitKind::chan_recv; }
  const void* channel() const noexcept override { return state_; }
  bool finish(WaitEntry& /*e*/) override {
    return visit_flavor(*state_, [this](auto& s) noexcept {
      // A completing claim moved the value in (kDone) or left it empty (kClosed).
      if constexpr (std::remove_reference_t<decltype(s)>::kClaimCompletes)
        return true;
      else
        return s.try_recv(value) != ChanStatus::not_ready;
    });
  }

  /// The value received; std::nullopt when the case fired because the channel was closed.
  std::optional<T> value;

 private:
  ChanState<T>* state_;
};

/// A send case on a live channel; `*value` is moved from only when the case completes.
template <class T>
class SendOp final : public SelectCase {
 public:
  SendOp(ChanState<T>* state, T* value, const char* closed_message) noexcept
      : state_(state), value_(value), closed_message_(closed_message) {}

  bool try_fire() override { return fired(chan_try_send(*state_, *value_)); }
  /// A hint that try_fire() may complete (or throw ChannelClosed) now.
  bool may_fire() const noexcept { return chan_send_may_proceed(*state_); }
  bool enroll(WaitEntry& e) noexcept override {
    return visit_flavor(*state_, [&](auto& s) noexcept { return s.enroll_send(e, value_); });
  }
  void unenroll(WaitEntry& e) noexcept override {
    visit_flavor(*state_, [&e](auto& s) noexcept { s.unenroll_send(e); });
  }
  void forward_wakeup() noexcept override {
    visit_flavor(*state_, [](auto& s) noexcept { s.forward_send_wakeup(); });
  }
  WaitKind wait_kind() const noexcept override { return WaitKind::chan_send; }
  const void* channel() const noexcept override { return state_; }
  bool finish(WaitEntry& e) override {
    const ChanStatus status = visit_flavor(*state_, [&](auto& s) noexcept {
      if constexpr (std::remove_reference_t<decltype(s)>::kClaimCompletes) {
        // kDone: the receiver took the value; kClosed: the close woke us.
        return e.result == WaitEntry::kClosed ? ChanStatus::closed : ChanStatus::ok;
      } else {
        return s.try_send(*value_);
      }
    });
    return fired(status);
  }

 private:
  // True for ok, false for not_ready; throws ChannelClosed for closed.
  bool fired(ChanStatus status) const {
    switch (status) {
      case ChanStatus::ok:
        return true;
      case ChanStatus::closed:
        throw_channel_closed(closed_message_);
      case ChanStatus::not_ready:
        break;
    }
    return false;
  }

  ChanState<T>* state_;
  T* value_;
  const char* closed_message_;
};

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
