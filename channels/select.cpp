// SPDX-License-Identifier: Apache-2.0
// The non-template half of select: the engine every blocking channel operation runs
// (protocol in channels/include/spindle/detail/chan_select.hpp).
#include <cstdint>
#include <memory>
#include <vector>

#include "spindle/detail/chan_select.hpp"
#include "spindle/detail/waiter.hpp"
#include "spindle/task.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {

namespace {

// The order in which a select visits its live cases; on the stack for small selects (left
// uninitialised: every slot read is written first).
class CaseOrder {
 public:
  explicit CaseOrder(std::size_t n) {
    if (n > kSmall) {
      big_ = std::make_unique<std::size_t[]>(n);
      data_ = big_.get();
    } else {
      data_ = small_;
    }
  }
  std::size_t* data() noexcept { return data_; }

 private:
  static constexpr std::size_t kSmall = 16;
  std::size_t small_[kSmall];
  std::unique_ptr<std::size_t[]> big_;
  std::size_t* data_;
};

// Unlinks a select's entries, whatever way the wait ends (return, retry or unwinding).
class Enrolment {
 public:
  Enrolment(SelectCase* const* cases, WaitEntry* entries, std::size_t n, const std::size_t* order,
            SelectCtx& ctx) noexcept
      : cases_(cases), entries_(entries), n_(n), order_(order), ctx_(ctx) {}
  Enrolment(const Enrolment&) = delete;
  Enrolment& operator=(const Enrolment&) = delete;

  ~Enrolment() {
    if (count_ == 0) return;
    // Only on unwinding (park() threw): stop further claims, take every lock (failed
    // claimers may still be walking our entries), and wait out a claimer that won.
    const bool claimed_by_other = !ctx_.try_claim(SelectCtx::kAborted);
    unenroll_all(SelectCtx::kWaiting);
    if (claimed_by_other) {
      ctx_.wait_for_claimer();
      // acquire: pairs with the claimer's CAS; we only read which case it chose.
      const std::uint32_t won = ctx_.state.load(std::memory_order_acquire);
      if (won < n_) cases_[won]->forward_wakeup();
    }
  }

  void set_count(std::size_t n) noexcept { count_ = n; }

  /// Unlinks every entry but the one for case `skip` (unlinked by its claimer already).
  void unenroll_all(std::uint32_t skip) noexcept {
    for (std::size_t k = 0; k < count_; ++k) {
      const std::size_t i = order_[k];
      if (i != skip) cases_[i]->unenroll(entries_[i]);
    }
    count_ = 0;
  }

 private:
  SelectCase* const* cases_;
  WaitEntry* entries_;
  std::size_t n_;
  const std::size_t* order_;
  SelectCtx& ctx_;
  std::size_t count_ = 0;
};

}  // namespace

void block_forever(WaitKind kind) {
  for (;;) {
    Waiter w(kind, forever_object());
    w.park();  // nobody holds this waiter: returns only by unwinding
  }
}

std::size_t run_select(SelectCase* const* cases, WaitEntry* entries, std::size_t n,
                       std::size_t default_index, bool poll_first, const std::size_t* polled) {
  CaseOrder order_buf(n);
  std::size_t* order = order_buf.data();
  for (unsigned attempt = 0;; ++attempt) {
    std::size_t live = 0;
    if (attempt == 0 && !poll_first) {
      for (std::size_t i = 0; i < n; ++i) {
        if (cases[i] == nullptr) continue;
        order[live] = polled != nullptr ? polled[live] : i;
        ++live;
      }
    } else {
      // 1. Poll the live cases in a fresh random order.
      live = shuffle_live_cases(cases, n, order);
      for (std::size_t k = 0; k < live; ++k) {
        if (cases[order[k]]->try_fire()) return order[k];
      }
      if (default_index != kNoDefault) return default_index;
    }
    if (live == 0) block_forever();
    if (attempt > 1) spindle::yield();  // two selects keep seeing each other: let one win

    // 2. Enrol on every channel, stopping early if one looks ready.
    SelectCtx ctx(n == 1 ? cases[order[0]]->wait_kind() : WaitKind::select,
                  n == 1 ? cases[order[0]]->channel() : nullptr);
    Enrolment enrolment(cases, entries, n, order, ctx);
    bool ready = false;
    // Stops early, too, once a partner has claimed the select: further entries would be dead.
    for (std::size_t k = 0; k < live && !ready && ctx.waiting(); ++k) {
      const std::size_t i = order[k];
      WaitEntry& e = entries[i];
      e.ctx = &ctx;
      e.case_index = static_cast<std::uint32_t>(i);
      enrolment.set_count(k + 1);
      ready = cases[i]->enroll(e);
    }
    if (ready && ctx.try_claim(SelectCtx::kAborted)) {
      enrolment.unenroll_all(SelectCtx::kWaiting);
      continue;
    }

    // 3. Wait for the claimer, then finish the case it chose.
    ctx.waiter.park();
    // acquire: pairs with the claimer's CAS; park() has synchronized with its unpark too.
    const std::uint32_t won = ctx.state.load(std::memory_order_acquire);
    if (won >= n) {
      throw std::logic_error("spindle::select: woken without being claimed (runtime bug)");
    }
    enrolment.unenroll_all(won);
    if (cases[won]->finish(entries[won])) return won;
  }
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
