// SPDX-License-Identifier: Apache-2.0
#include "runtime/poller.hpp"

#include <chrono>
#include <climits>

#include "runtime/io_choice.hpp"
#include "runtime/worker.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

std::atomic<std::uint64_t> g_next_poller_id{1};

}  // namespace

Poller::Poller()
    // relaxed: a unique id, ordered with nothing.
    : id_(g_next_poller_id.fetch_add(1, std::memory_order_relaxed)), backend_(make_io_backend()) {}

Poller::~Poller() = default;

void Poller::add(PollDesc& pd) {
  std::lock_guard lock(pd.mu);
  if (pd.poller_id == id_ || pd.closed) return;
  backend_->open(pd);
  pd.poller_id = id_;
}

ArmResult Poller::arm(PollDesc& pd, IoDir dir, IoWaitNode& node, std::uint32_t seen) {
  const ArmResult r = poll_desc_arm(pd, dir, node, seen);
  if (r == ArmResult::armed) waiters_.fetch_add(1, std::memory_order_seq_cst);
  return r;
}

void Poller::disarm(PollDesc& pd, IoDir dir, IoWaitNode& node) noexcept {
  poll_desc_disarm(pd, dir, node);
  waiters_.fetch_sub(1, std::memory_order_seq_cst);
}

std::size_t Poller::poll_now() {
  if (waiters_.load(std::memory_order_seq_cst) == 0) return 0;
  if (owner_.load(std::memory_order_seq_cst) != nullptr) return 0;
  return backend_->poll(0, false);
}

Poller::IdleResult Poller::idle_wait(Worker& w, const TimePoint* deadline) {
  Worker* expected = nullptr;
  if (!owner_.compare_exchange_strong(expected, &w, std::memory_order_seq_cst)) {
    return IdleResult::not_polled;
  }
  kicked_.store(false, std::memory_order_seq_cst);
  // Pairs with the fence in Scheduler::wake_one(): see the protocol at the top of the header.
  if (w.wake_flag.load(std::memory_order_seq_cst) != 0) {
    owner_.store(nullptr, std::memory_order_seq_cst);
    return IdleResult::nothing;
  }
  int timeout_ms = -1;
  if (deadline != nullptr) {
    const auto left = *deadline - Clock::now();
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    timeout_ms = ms <= 0 ? 0 : ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
  }
  const std::size_t woken = backend_->poll(timeout_ms, true);
  owner_.store(nullptr, std::memory_order_seq_cst);
  return woken > 0 ? IdleResult::woke : IdleResult::nothing;
}

void Poller::kick() noexcept {
  if (kicked_.exchange(true, std::memory_order_seq_cst)) return;  // a kick is pending already
  backend_->kick();
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail
